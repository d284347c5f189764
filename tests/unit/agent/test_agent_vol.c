/* SPDX-License-Identifier: Apache-2.0 */
/* test_agent_vol: the files of configMap, secret, downwardAPI and projected volumes as the
 * kubelet's plugins make them (all keys or items, modes, optional, base64, the kubelet's
 * errors), fieldpath.FormatMap's lines, resourceFieldRef with divisors and the node's
 * allocatable, serviceAccountToken sources (mode, owner) and the token manager's refresh rule,
 * and the atomic writer's layout (..data, symlinks, refresh, no-op rewrite). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_vol.h"

/* The API the test fakes: cm (a, b, binaryData bin), sec (pw=hunter2, tok=t0k in base64). */
static int fake_get(void *arg, const char *kind, const char *ns, const char *name, struct jv_doc *d,
		    struct jv **obj, char *err, size_t errlen)
{
	const char *json = NULL;

	(void)arg;
	(void)err;
	(void)errlen;
	assert_string_equal(ns, "team");
	if (!strcmp(kind, "ConfigMap") && !strcmp(name, "cm"))
		json =
		    "{\"data\":{\"a\":\"alpha\",\"b\":\"beta\"},\"binaryData\":{\"bin\":\"AAEC\"}}";
	if (!strcmp(kind, "Secret") && !strcmp(name, "sec"))
		json = "{\"data\":{\"pw\":\"aHVudGVyMg==\",\"tok\":\"dDBr\"}}";
	if (!json)
		return -ENOENT;
	*obj = jv_parse(d, json, strlen(json), NULL);
	return *obj ? 0 : -ENOMEM;
}

static const char *POD =
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"team\",\"uid\":\"u-1\","
    "\"labels\":{\"tier\":\"front\",\"app\":\"x\"},"
    "\"annotations\":{\"note\":\"say \\\"hi\\\"\\n\\tbye\\\\\",\"z\":\"\\u0001\"}},"
    "\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{\"memory\":\"64Mi\"},"
    "\"requests\":{\"cpu\":\"250m\"}}}]}}";

/* The token source fake: "tok-<audience>-<expirationSeconds>"; audience "fail" fails. */
static int fake_token(void *arg, const struct jv *tp, char **tok, char *err, size_t errlen)
{
	const char *aud = jv_path_str(tp, "audience");
	int64_t exp = 0;

	(void)arg;
	jv_path_int(tp, "expirationSeconds", &exp);
	if (aud && !strcmp(aud, "fail")) {
		snprintf(err, errlen, "failed to fetch token: no");
		return -EINVAL;
	}
	*tok = malloc(64);
	if (!*tok)
		return -ENOMEM;
	snprintf(*tok, 64, "tok-%s-%lld", aud ? aud : "", (long long)exp);
	return 0;
}

/* The payload of the volume JSON over the pod JSON (NULL: POD), serviceAccountToken sources
 * from token (may be NULL); returns vol_payload_build's code. */
static int build_pod(const char *vol_json, const char *pod_json,
		     int (*token)(void *, const struct jv *, char **, char *, size_t),
		     struct vol_payload *out, char *err)
{
	struct jv_doc *d = jv_doc_new();
	const char *pj = pod_json ? pod_json : POD;
	struct jv *vol = jv_parse(d, vol_json, strlen(vol_json), NULL),
		  *pod = jv_parse(d, pj, strlen(pj), NULL);
	struct vol_src src = {
	    .pod = pod,
	    .ns = "team",
	    .get = fake_get,
	    .node_cpu = "3",
	    .node_memory = "2Gi",
	    .token = token,
	};
	int rc;

	assert_non_null(vol);
	assert_non_null(pod);
	memset(out, 0, sizeof(*out));
	err[0] = 0;
	rc = vol_payload_build(vol, &src, out, err, 256);
	jv_doc_free(d);
	return rc;
}

static int build(const char *vol_json, struct vol_payload *out, char *err)
{
	return build_pod(vol_json, NULL, fake_token, out, err);
}

/* The file at path must hold want with mode. */
static void has(const struct vol_payload *p, const char *path, const char *want, size_t len,
		unsigned mode)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->f[i].path, path)) {
			if (p->f[i].len != len || memcmp(p->f[i].data, want, len))
				fail_msg("%s: got \"%.*s\", want \"%s\"", path, (int)p->f[i].len,
					 (const char *)p->f[i].data, want);
			if (p->f[i].mode != mode)
				fail_msg("%s: mode %o, want %o", path, p->f[i].mode, mode);
			return;
		}
	fail_msg("no file %s", path);
}

static void test_configmap(void **state)
{
	struct vol_payload p;
	char err[256];

	(void)state;
	/* every key (binaryData decoded), mode 0644 = the API's default 420 */
	assert_int_equal(build("{\"name\":\"v\",\"configMap\":{\"name\":\"cm\"}}", &p, err), 0);
	assert_int_equal(p.n, 3);
	has(&p, "a", "alpha", 5, 0644);
	has(&p, "b", "beta", 4, 0644);
	has(&p, "bin", "\0\1\2", 3, 0644);
	vol_payload_free(&p);
	/* items: key -> path, the item's mode over defaultMode; only the items */
	assert_int_equal(build("{\"configMap\":{\"name\":\"cm\",\"defaultMode\":256,\"items\":["
			       "{\"key\":\"b\",\"path\":\"d/bee\",\"mode\":384},"
			       "{\"key\":\"a\",\"path\":\"a.txt\"}]}}",
			       &p, err),
			 0);
	assert_int_equal(p.n, 2);
	has(&p, "d/bee", "beta", 4, 0600);
	has(&p, "a.txt", "alpha", 5, 0400);
	vol_payload_free(&p);
	/* a missing key: the kubelet's error, unless optional */
	assert_int_equal(build("{\"configMap\":{\"name\":\"cm\",\"items\":[{\"key\":\"zz\","
			       "\"path\":\"z\"}]}}",
			       &p, err),
			 -EINVAL);
	assert_string_equal(err, "configmap references non-existent config key: zz");
	vol_payload_free(&p);
	assert_int_equal(build("{\"configMap\":{\"name\":\"cm\",\"optional\":true,\"items\":["
			       "{\"key\":\"zz\",\"path\":\"z\"},{\"key\":\"a\",\"path\":\"a\"}]}}",
			       &p, err),
			 0);
	assert_int_equal(p.n, 1);
	vol_payload_free(&p);
	/* a missing ConfigMap: the configMap manager's NotFound, unless optional (empty) */
	assert_int_equal(build("{\"configMap\":{\"name\":\"nope\"}}", &p, err), -EINVAL);
	assert_string_equal(err, "configmap \"nope\" not found");
	vol_payload_free(&p);
	assert_int_equal(build("{\"configMap\":{\"name\":\"nope\",\"optional\":true}}", &p, err),
			 0);
	assert_int_equal(p.n, 0);
	vol_payload_free(&p);
}

static void test_secret(void **state)
{
	struct vol_payload p;
	char err[256];

	(void)state;
	assert_int_equal(
	    build("{\"secret\":{\"secretName\":\"sec\",\"defaultMode\":288}}", &p, err), 0);
	assert_int_equal(p.n, 2);
	has(&p, "pw", "hunter2", 7, 0440);
	has(&p, "tok", "t0k", 3, 0440);
	vol_payload_free(&p);
	assert_int_equal(build("{\"secret\":{\"secretName\":\"sec\",\"items\":[{\"key\":\"nokey\","
			       "\"path\":\"k\"}]}}",
			       &p, err),
			 -EINVAL);
	assert_string_equal(err, "references non-existent secret key: nokey");
	vol_payload_free(&p);
	assert_int_equal(build("{\"secret\":{\"secretName\":\"gone\"}}", &p, err), -EINVAL);
	assert_string_equal(err, "secret \"gone\" not found");
	vol_payload_free(&p);
	assert_int_equal(build("{\"secret\":{\"secretName\":\"gone\",\"optional\":true}}", &p, err),
			 0);
	assert_int_equal(p.n, 0);
	vol_payload_free(&p);
}

static void test_format_map(void **state)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *pod = jv_parse(d, POD, strlen(POD), NULL);
	char *s;

	(void)state;
	/* sorted, Go's %q: quotes, backslashes and control bytes escaped; no trailing newline */
	s = vol_format_map(jv_path(pod, "metadata.labels"));
	assert_string_equal(s, "app=\"x\"\ntier=\"front\"");
	free(s);
	s = vol_format_map(jv_path(pod, "metadata.annotations"));
	assert_string_equal(s, "note=\"say \\\"hi\\\"\\n\\tbye\\\\\"\nz=\"\\x01\"");
	free(s);
	s = vol_format_map(NULL);
	assert_string_equal(s, "");
	free(s);
	jv_doc_free(d);
}

static void test_downward(void **state)
{
	struct vol_payload p;
	char err[256];

	(void)state;
	assert_int_equal(
	    build(
		"{\"downwardAPI\":{\"defaultMode\":420,\"items\":["
		"{\"path\":\"labels\",\"fieldRef\":{\"fieldPath\":\"metadata.labels\"}},"
		"{\"path\":\"tier\",\"fieldRef\":{\"fieldPath\":\"metadata.labels['tier']\"}},"
		"{\"path\":\"none\",\"fieldRef\":{\"fieldPath\":\"metadata.labels['no']\"}},"
		"{\"path\":\"m/name\",\"fieldRef\":{\"fieldPath\":\"metadata.name\"},\"mode\":256},"
		"{\"path\":\"ns\",\"fieldRef\":{\"fieldPath\":\"metadata.namespace\"}},"
		"{\"path\":\"uid\",\"fieldRef\":{\"fieldPath\":\"metadata.uid\"}},"
		"{\"path\":\"mem\",\"resourceFieldRef\":{\"containerName\":\"c\","
		"\"resource\":\"limits.memory\",\"divisor\":\"1Mi\"}},"
		"{\"path\":\"cpu\",\"resourceFieldRef\":{\"containerName\":\"c\","
		"\"resource\":\"limits.cpu\",\"divisor\":\"1m\"}},"
		"{\"path\":\"rcpu\",\"resourceFieldRef\":{\"containerName\":\"c\","
		"\"resource\":\"requests.cpu\"}},"
		"{\"path\":\"rmem\",\"resourceFieldRef\":{\"containerName\":\"c\","
		"\"resource\":\"requests.memory\"}}]}}",
		&p, err),
	    0);
	has(&p, "labels", "app=\"x\"\ntier=\"front\"", 20, 0644);
	has(&p, "tier", "front", 5, 0644);
	has(&p, "none", "", 0, 0644);
	has(&p, "m/name", "web", 3, 0400);
	has(&p, "ns", "team", 4, 0644);
	has(&p, "uid", "u-1", 3, 0644);
	has(&p, "mem", "64", 2, 0644);
	has(&p, "cpu", "3000", 4, 0644); /* no cpu limit: the node's allocatable (3) */
	has(&p, "rcpu", "1", 1, 0644);	 /* 250m, rounded up to whole cores */
	has(&p, "rmem", "0", 1, 0644);
	vol_payload_free(&p);
	assert_int_equal(build("{\"downwardAPI\":{\"items\":[{\"path\":\"x\",\"fieldRef\":{"
			       "\"fieldPath\":\"status.podIP\"}}]}}",
			       &p, err),
			 -EINVAL);
	assert_string_equal(err, "unsupported fieldPath: status.podIP");
	vol_payload_free(&p);
	assert_int_equal(build("{\"downwardAPI\":{\"items\":[{\"path\":\"x\",\"resourceFieldRef\":{"
			       "\"containerName\":\"nosuch\",\"resource\":\"limits.cpu\"}}]}}",
			       &p, err),
			 -EINVAL);
	assert_string_equal(err, "container nosuch not found");
	vol_payload_free(&p);
}

static void test_projected(void **state)
{
	struct vol_payload p;
	char err[256];

	(void)state;
	/* sources in order, a later path over an earlier */
	assert_int_equal(
	    build("{\"projected\":{\"defaultMode\":292,\"sources\":["
		  "{\"configMap\":{\"name\":\"cm\",\"items\":[{\"key\":\"a\",\"path\":\"x\"}]}},"
		  "{\"secret\":{\"name\":\"sec\",\"items\":[{\"key\":\"pw\",\"path\":\"x\"},"
		  "{\"key\":\"tok\",\"path\":\"tok\",\"mode\":256}]}},"
		  "{\"serviceAccountToken\":{\"path\":\"token\"}},"
		  "{\"downwardAPI\":{\"items\":[{\"path\":\"n\",\"fieldRef\":{\"fieldPath\":"
		  "\"metadata.name\"}}]}}]}}",
		  &p, err),
	    0);
	assert_int_equal(p.n, 4);
	has(&p, "x", "hunter2", 7, 0444);
	has(&p, "tok", "t0k", 3, 0400);
	has(&p, "token", "tok--0", 6, 0444);
	has(&p, "n", "web", 3, 0444);
	vol_payload_free(&p);
	assert_int_equal(
	    build("{\"projected\":{\"sources\":[{\"secret\":{\"name\":\"gone\"}}]}}", &p, err),
	    -EINVAL);
	assert_string_equal(err, "secret \"gone\" not found");
	vol_payload_free(&p);
}

/* The file at path of p (failing the test when there is none). */
static const struct vol_file *file_at(const struct vol_payload *p, const char *path)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->f[i].path, path))
			return &p->f[i];
	fail_msg("no file %s", path);
	return NULL;
}

/* projected.go collectData's serviceAccountToken: the token at its path with defaultMode, or
 * 0600 with the pod's FsUser (volumeutil.FsUserFrom: one runAsUser for every container) as
 * owner / 0640 with its fsGroup as group (SetVolumeOwnership's read-only mask). */
static void test_projected_token(void **state)
{
	static const char vol[] =
	    "{\"projected\":{\"defaultMode\":420,\"sources\":["
	    "{\"serviceAccountToken\":{\"expirationSeconds\":3607,\"path\":\"token\"}},"
	    "{\"serviceAccountToken\":{\"audience\":\"vault\",\"expirationSeconds\":600,"
	    "\"path\":\"dir/vault\"}},"
	    "{\"downwardAPI\":{\"items\":[{\"path\":\"namespace\",\"fieldRef\":{"
	    "\"fieldPath\":\"metadata.namespace\"}}]}}]}}";
	static const char same_user[] =
	    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"team\"},\"spec\":{"
	    "\"securityContext\":{\"runAsUser\":1000},\"initContainers\":[{\"name\":\"i\"}],"
	    "\"containers\":[{\"name\":\"a\"},{\"name\":\"b\",\"securityContext\":{"
	    "\"runAsUser\":1000}}]}}";
	static const char two_users[] =
	    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"team\"},\"spec\":{"
	    "\"securityContext\":{\"runAsUser\":1000,\"fsGroup\":2000},"
	    "\"containers\":[{\"name\":\"a\"},{\"name\":\"b\",\"securityContext\":{"
	    "\"runAsUser\":1001}}]}}";
	struct vol_payload p;
	const struct vol_file *f;
	char err[256];

	(void)state;
	assert_int_equal(build(vol, &p, err), 0);
	has(&p, "token", "tok--3607", 9, 0644);
	has(&p, "dir/vault", "tok-vault-600", 13, 0644);
	has(&p, "namespace", "team", 4, 0644);
	assert_false(file_at(&p, "token")->set_uid || file_at(&p, "token")->set_gid);
	vol_payload_free(&p);

	assert_int_equal(build_pod(vol, same_user, fake_token, &p, err), 0);
	f = file_at(&p, "token");
	assert_int_equal(f->mode, 0600);
	assert_true(f->set_uid);
	assert_int_equal(f->uid, 1000);
	assert_false(f->set_gid);
	has(&p, "namespace", "team", 4, 0644); /* the other sources keep defaultMode */
	vol_payload_free(&p);

	assert_int_equal(build_pod(vol, two_users, fake_token, &p, err), 0);
	f = file_at(&p, "token");
	assert_int_equal(f->mode, 0640);
	assert_false(f->set_uid); /* two users: no FsUser */
	assert_true(f->set_gid);
	assert_int_equal(f->gid, 2000);
	vol_payload_free(&p);

	/* a token that cannot be had fails the volume with its message */
	assert_int_equal(
	    build("{\"projected\":{\"sources\":[{\"serviceAccountToken\":{\"audience\":\"fail\","
		  "\"path\":\"t\"}}]}}",
		  &p, err),
	    -EINVAL);
	assert_string_equal(err, "failed to fetch token: no");
	vol_payload_free(&p);
	assert_int_equal(build_pod(vol, NULL, NULL, &p, err), -EINVAL);
	vol_payload_free(&p);
}

/* token_manager.go requiresRefresh: a token asked for exp_s seconds, issued at iat = exp -
 * exp_s, is refreshed after 80 % of exp_s, after 24 h, and when the clock is before iat; the
 * jitter moves both thresholds earlier. */
static void test_token_refresh(void **state)
{
	const int64_t iat = 1000000;

	(void)state;
	/* 3607 s (the kubelet's kube-api-access token): 80 % is 2885.6 s, 20 % 721 s */
	assert_false(vol_token_requires_refresh(iat, iat + 3607, 3607, 0));
	assert_false(vol_token_requires_refresh(iat + 2886, iat + 3607, 3607, 0));
	assert_true(vol_token_requires_refresh(iat + 2887, iat + 3607, 3607, 0));
	assert_false(vol_token_requires_refresh(iat + 2876, iat + 3607, 3607, 10));
	assert_true(vol_token_requires_refresh(iat + 2877, iat + 3607, 3607, 10));
	/* 3600 s: the boundary is exp - 720, not after it */
	assert_false(vol_token_requires_refresh(iat + 2880, iat + 3600, 3600, 0));
	assert_true(vol_token_requires_refresh(iat + 2881, iat + 3600, 3600, 0));
	/* 600 s, the shortest: after 480 s */
	assert_false(vol_token_requires_refresh(iat + 480, iat + 600, 600, 0));
	assert_true(vol_token_requires_refresh(iat + 481, iat + 600, 600, 0));
	/* two days: 24 h comes first */
	assert_false(vol_token_requires_refresh(iat + 86400, iat + 172800, 172800, 0));
	assert_true(vol_token_requires_refresh(iat + 86401, iat + 172800, 172800, 0));
	assert_true(vol_token_requires_refresh(iat + 86391, iat + 172800, 172800, 10));
	/* the clock went back before it was issued */
	assert_true(vol_token_requires_refresh(iat - 1, iat + 3607, 3607, 0));
}

static void put_file(struct vol_payload *p, const char *path, const char *data, unsigned mode)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 4;
		p->f = realloc(p->f, p->cap * sizeof(*p->f));
		assert_non_null(p->f);
	}
	p->f[p->n++] = (struct vol_file){.path = strdup(path),
					 .data = (unsigned char *)strdup(data),
					 .len = strlen(data),
					 .mode = mode};
}

static void file_is(const char *dir, const char *rel, const char *want, unsigned mode)
{
	char path[PATH_MAX], buf[256] = "";
	struct stat st;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		fail_msg("%s: %s", rel, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	buf[n] = 0;
	assert_string_equal(buf, want);
	assert_int_equal(st.st_mode & 07777, mode);
}

static void link_is(const char *dir, const char *rel, const char *want)
{
	char path[PATH_MAX], buf[256];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n < 0)
		fail_msg("%s: not a symlink: %s", rel, strerror(errno));
	buf[n] = 0;
	if (want)
		assert_string_equal(buf, want);
}

/* A temp dir per test, removed in the teardown (also when the test failed). */
static int tmp_setup(void **state)
{
	char *dir = strdup("/tmp/test_agent_vol.XXXXXX");

	if (!dir || !mkdtemp(dir)) {
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

static int tmp_teardown(void **state)
{
	char cmd[PATH_MAX + 16];
	int rc;

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", (char *)*state);
	rc = system(cmd);
	free(*state);
	return rc == 0 ? 0 : -1;
}

static void test_atomic_write(void **state)
{
	const char *dir = *state;
	char path[PATH_MAX], data1[256], data2[256], data3[256];
	struct vol_payload p = {0};
	struct stat st;
	ssize_t n;

	put_file(&p, "a", "alpha", 0644);
	put_file(&p, "d/e/bee", "beta", 0600);
	assert_int_equal(vol_atomic_write(dir, &p), 0);
	/* name -> ..data/name, ..data -> ..<timestamp> holding the files */
	link_is(dir, "a", "..data/a");
	link_is(dir, "d", "..data/d");
	link_is(dir, "..data", NULL);
	file_is(dir, "a", "alpha", 0644);
	file_is(dir, "d/e/bee", "beta", 0600);
	snprintf(path, sizeof(path), "%s/..data", dir);
	n = readlink(path, data1, sizeof(data1) - 1);
	assert_true(n > 2);
	data1[n] = 0;
	assert_memory_equal(data1, "..", 2);
	/* the same payload again: nothing rewritten */
	assert_int_equal(vol_atomic_write(dir, &p), 0);
	n = readlink(path, data2, sizeof(data2) - 1);
	data2[n] = 0;
	assert_string_equal(data1, data2);
	/* a changed payload: a new dir, a name that went is gone, the old dir removed */
	free(p.f[0].data);
	p.f[0].data = (unsigned char *)strdup("ALPHA");
	free(p.f[1].path);
	free(p.f[1].data);
	p.n = 1;
	put_file(&p, "c", "gamma", 0400);
	assert_int_equal(vol_atomic_write(dir, &p), 0);
	n = readlink(path, data3, sizeof(data3) - 1);
	data3[n] = 0;
	assert_string_not_equal(data1, data3);
	file_is(dir, "a", "ALPHA", 0644);
	file_is(dir, "c", "gamma", 0400);
	snprintf(path, sizeof(path), "%s/d", dir);
	assert_int_equal(lstat(path, &st), -1); /* the link too, not only its target */
	snprintf(path, sizeof(path), "%s/%s", dir, data1);
	assert_int_equal(access(path, F_OK), -1);
	/* a path leaving the volume is refused, nothing written */
	put_file(&p, "../escape", "x", 0644);
	assert_int_equal(vol_atomic_write(dir, &p), -EINVAL);
	free(p.f[p.n - 1].path);
	free(p.f[p.n - 1].data);
	p.n--;
	put_file(&p, "/abs", "x", 0644);
	assert_int_equal(vol_atomic_write(dir, &p), -EINVAL);
	vol_payload_free(&p);
	/* an empty payload (an optional missing source): no names left */
	assert_int_equal(vol_atomic_write(dir, &p), 0);
	snprintf(path, sizeof(path), "%s/a", dir);
	assert_int_equal(lstat(path, &st), -1);
}

static void check_host(const char *path, const char *type, int want_rc, const char *want_err)
{
	char err[512] = "";
	int rc = vol_host_path_check(path, type, err, sizeof(err));

	if (rc != want_rc || strcmp(err, want_err))
		fail_msg("%s (%s): %d \"%s\", want %d \"%s\"", path, type, rc, err, want_rc,
			 want_err);
}

static void test_host_path(void **state)
{
	const char *dir = *state;
	char p[PATH_MAX + 64], want[PATH_MAX * 2];
	struct stat st;

	/* hostpath.go checkType's messages */
	check_host(dir, "Directory", 0, "");
	check_host("/dev/null", "CharDevice", 0, "");
	snprintf(want, sizeof(want),
		 "hostPath type check failed: %s is not a file, it's a Directory", dir);
	check_host(dir, "File", -EINVAL, want);
	check_host("/dev/null", "Socket", -EINVAL,
		   "hostPath type check failed: /dev/null is not a socket file, it's a CharDevice");
	check_host(
	    "/dev/null", "BlockDevice", -EINVAL,
	    "hostPath type check failed: /dev/null is not a block device, it's a CharDevice");
	snprintf(p, sizeof(p), "%s/none", dir);
	snprintf(want, sizeof(want), "hostPath %s doesn't exist", p);
	check_host(p, "Directory", -EINVAL, want);
	check_host(p, "Weird", -EINVAL, "Weird is an invalid volume type");
	check_host("/a/../etc", "", -EINVAL, "invalid HostPath `/a/../etc`: must not contain '..'");
	/* ...OrCreate make what is missing: a directory 0755, an empty file 0644 */
	snprintf(p, sizeof(p), "%s/made/dir", dir);
	check_host(p, "DirectoryOrCreate", 0, "");
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	snprintf(p, sizeof(p), "%s/file", dir);
	check_host(p, "FileOrCreate", 0, "");
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0644);
	snprintf(want, sizeof(want),
		 "hostPath type check failed: %s is not a directory, it's a File", p);
	check_host(p, "DirectoryOrCreate", -EINVAL, want);
}

static void test_sub_path_expr(void **state)
{
	struct env_list env = {0};
	char msg[256];
	char *s;

	(void)state;
	assert_int_equal(env_set(&env, "POD", "web-1"), 0);
	assert_int_equal(env_set(&env, "EMPTY", ""), 0);
	s = vol_sub_path_expr("logs/$(POD)/$$(POD)", &env, msg, sizeof(msg));
	assert_non_null(s);
	assert_string_equal(s, "logs/web-1/$(POD)");
	free(s);
	/* unset and empty both missing, sorted, once each */
	assert_null(vol_sub_path_expr("$(ZED)/$(EMPTY)/$(ZED)/$(A)", &env, msg, sizeof(msg)));
	assert_string_equal(msg, "missing value for A, EMPTY, ZED");
	env_list_free(&env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_configmap),
	    cmocka_unit_test(test_secret),
	    cmocka_unit_test(test_format_map),
	    cmocka_unit_test(test_downward),
	    cmocka_unit_test(test_projected),
	    cmocka_unit_test(test_projected_token),
	    cmocka_unit_test(test_token_refresh),
	    cmocka_unit_test_setup_teardown(test_atomic_write, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(test_host_path, tmp_setup, tmp_teardown),
	    cmocka_unit_test(test_sub_path_expr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
