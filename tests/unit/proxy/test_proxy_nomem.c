/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The proxy's model out of memory: decoding Services and EndpointSlices, setting and
 * deleting them in the model, computing frontends, and a manifests reload, each with its 1st,
 * 2nd, ... allocation failing (tests/lib/failalloc.h) until it succeeds. A failed call returns
 * -ENOMEM and leaves the model as it was (every service's frontends and backends compare
 * equal); deletes need no memory; nothing leaks (the ASan build checks at exit). A reload that
 * fails applies nothing, and the next reload applies it all.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decode.h"
#include "failalloc.h"
#include "k8s.h"
#include "model.h"
#include "source.h"

#define SWEEP_MAX 100000

static const char svc_a[] =
    "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n"
    "spec: {type: NodePort, clusterIP: 10.96.0.1, externalIPs: [192.0.2.1],\n"
    "  ports: [{name: http, port: 80, targetPort: web, nodePort: 30080},\n"
    "          {name: dns, port: 53, protocol: UDP, targetPort: 5353}]}\n";
static const char slice_a[] =
    "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
    "metadata: {name: a-1, labels: {kubernetes.io/service-name: a}}\naddressType: IPv4\n"
    "ports: [{name: http, port: 8080}, {name: dns, port: 5353, protocol: UDP}]\n"
    "endpoints: [{addresses: [10.0.0.1], nodeName: n1}, {addresses: [10.0.0.2]},\n"
    "  {addresses: [10.0.0.3], conditions: {ready: false, serving: true, terminating: true}}]\n";
static const char slice_a2[] =
    "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
    "metadata: {name: a-1, labels: {kubernetes.io/service-name: a}}\naddressType: IPv4\n"
    "ports: [{name: http, port: 8081}, {name: dns, port: 5353, protocol: UDP}]\n"
    "endpoints: [{addresses: [10.0.0.9]}]\n";
static const char svc_b[] =
    "apiVersion: v1\nkind: Service\nmetadata: {name: b}\n"
    "spec: {clusterIP: 10.96.0.2, sessionAffinity: ClientIP, ports: [{port: 81}]}\n";
static const char slice_b[] =
    "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
    "metadata: {name: b-1, labels: {kubernetes.io/service-name: b}}\naddressType: IPv4\n"
    "ports: [{port: 81}]\nendpoints: [{addresses: [10.0.1.1]}]\n";

/* One object of text, decoded (without failures). */
struct decoded {
	struct k8s_service *svc;
	struct k8s_slice *sl;
};

static int on_obj(struct k8s_obj *o, void *ud)
{
	struct decoded *d = ud;
	char err[256];

	if (!strcmp(k8s_obj_kind(o)->kind, "Service"))
		assert_int_equal(decode_service_obj(o, &d->svc, err, sizeof(err)), 0);
	else
		assert_int_equal(decode_slice_obj(o, &d->sl, err, sizeof(err)), 0);
	k8s_obj_free(o);
	return 0;
}

static struct decoded decode(const char *text)
{
	struct k8s_parse_opts po = {.validation = K8S_FV_STRICT};
	struct k8s_errors e = {0};
	struct decoded d = {0};

	assert_int_equal(k8s_parse_stream(text, strlen(text), &po, on_obj, &d, &e), 0);
	return d;
}

/* Everything the model says about services a, b (and c): their frontends, flags and
 * backends, as text. */
static void describe(struct proxy_model *m, char *out, size_t len)
{
	static const char *const names[] = {"a", "b", "c"};
	size_t at = 0;

	out[0] = 0;
	for (size_t i = 0; i < 3; i++) {
		struct lb_frontend *fes;
		size_t n;
		int rc = model_service_frontends(m, "default", names[i], &fes, &n);

		assert_true(rc == 0 || rc == -ENOENT);
		at += (size_t)snprintf(out + at, len - at, "%s:", names[i]);
		for (size_t f = 0; rc == 0 && f < n; f++) {
			char k[64];

			lb_fe_key_str(&fes[f].key, k, sizeof(k));
			at += (size_t)snprintf(out + at, len - at, " %s/%x[", k, fes[f].flags);
			for (size_t b = 0; b < fes[f].nbackends; b++)
				at += (size_t)snprintf(
				    out + at, len - at, "%08x:%u/%x ", fes[f].backends[b].addr,
				    ntohs(fes[f].backends[b].port), fes[f].backends[b].flags);
			at += (size_t)snprintf(out + at, len - at, "]");
		}
		if (rc == 0)
			model_frontends_free(fes, n);
		at += (size_t)snprintf(out + at, len - at, "\n");
	}
}

static struct proxy_model *model_with_a(void)
{
	struct model_opts o = {.node_name = "n1"};
	struct proxy_model *m = model_new(&o, NULL);

	assert_non_null(m);
	assert_int_equal(model_set_service(m, decode(svc_a).svc), 0);
	assert_int_equal(model_set_slice(m, decode(slice_a).sl), 0);
	return m;
}

static const char slice_a_to_b[] =
    "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
    "metadata: {name: a-1, labels: {kubernetes.io/service-name: b}}\naddressType: IPv4\n"
    "ports: [{port: 81}]\nendpoints: [{addresses: [10.0.1.7]}]\n";

enum op { SET_SVC_B, SET_SLICE_B, REPLACE_SLICE_A, REPLACE_SVC_A, MOVE_SLICE_A };

/* One model change swept over its allocations: on failure nothing changed. Returns how many
 * allocations it needed, plus one. */
static unsigned long sweep_change(enum op op)
{
	unsigned long n;

	for (n = 1; n < SWEEP_MAX; n++) {
		struct proxy_model *m = model_with_a();
		char before[4096], after[4096];
		struct decoded d;
		int rc;

		if (op == SET_SLICE_B)
			assert_int_equal(model_set_service(m, decode(svc_b).svc), 0);
		describe(m, before, sizeof(before));
		d = decode(op == SET_SVC_B	   ? svc_b
			   : op == SET_SLICE_B	   ? slice_b
			   : op == REPLACE_SLICE_A ? slice_a2
			   : op == MOVE_SLICE_A	   ? slice_a_to_b
						   : svc_a);
		failalloc_arm(n, FAILALLOC_THIS_THREAD);
		rc = d.svc ? model_set_service(m, d.svc) : model_set_slice(m, d.sl);
		failalloc_disarm();
		describe(m, after, sizeof(after));
		if (!failalloc_fired()) {
			assert_int_equal(rc, 0);
			if (op != REPLACE_SVC_A)
				assert_string_not_equal(after, before);
			model_free(m);
			break;
		}
		assert_int_equal(rc, -ENOMEM);
		assert_string_equal(after, before);
		model_free(m);
	}
	assert_true(n < SWEEP_MAX);
	return n;
}

static void test_set(void **state)
{
	(void)state;
	assert_true(sweep_change(SET_SVC_B) > 1);
	assert_true(sweep_change(SET_SLICE_B) > 1);
	assert_true(sweep_change(MOVE_SLICE_A) > 1); /* to a service the model has not seen */
	/* replacing within what exists takes no memory at all */
	assert_int_equal(sweep_change(REPLACE_SLICE_A), 1);
	assert_int_equal(sweep_change(REPLACE_SVC_A), 1);
}

/* Deletes need no memory: every allocation failing, they still work. */
static void test_delete(void **state)
{
	struct proxy_model *m = model_with_a();
	char out[4096];

	(void)state;
	failalloc_arm(1, FAILALLOC_THIS_THREAD | FAILALLOC_PERSIST);
	assert_int_equal(model_del_slice(m, "default", "a-1"), 0);
	assert_int_equal(model_del_service(m, "default", "a"), 0);
	assert_true(model_pending(m));
	failalloc_disarm();
	describe(m, out, sizeof(out));
	assert_string_equal(out, "a:\nb:\nc:\n");
	model_free(m);
}

/* Frontends and the decoders: -ENOMEM and nothing to free, or the right answer. */
static void test_frontends_and_decode(void **state)
{
	struct proxy_model *m = model_with_a();
	char want[4096], got[4096];
	unsigned long n;

	(void)state;
	describe(m, want, sizeof(want));
	for (n = 1; n < SWEEP_MAX; n++) {
		struct lb_frontend *fes = NULL;
		size_t nf = 0;
		int rc;

		failalloc_arm(n, FAILALLOC_THIS_THREAD);
		rc = model_service_frontends(m, "default", "a", &fes, &nf);
		failalloc_disarm();
		if (rc == 0)
			model_frontends_free(fes, nf);
		if (!failalloc_fired())
			break;
		assert_int_equal(rc, -ENOMEM);
	}
	assert_true(n > 2 && n < SWEEP_MAX);
	describe(m, got, sizeof(got));
	assert_string_equal(got, want);
	model_free(m);

	for (int which = 0; which < 2; which++) {
		const char *text = which ? slice_a : svc_a;

		for (n = 1; n < SWEEP_MAX; n++) {
			struct k8s_parse_opts po = {.validation = K8S_FV_STRICT};
			struct k8s_errors e = {0};
			struct k8s_obj *o = k8s_obj_parse(text, strlen(text), &po, &e);
			struct k8s_service *svc = NULL;
			struct k8s_slice *sl = NULL;
			char err[256];
			int rc;

			assert_non_null(o);
			failalloc_arm(n, FAILALLOC_THIS_THREAD);
			rc = which ? decode_slice_obj(o, &sl, err, sizeof(err))
				   : decode_service_obj(o, &svc, err, sizeof(err));
			failalloc_disarm();
			k8s_obj_free(o);
			k8s_service_free(svc);
			k8s_slice_free(sl);
			if (!failalloc_fired()) {
				assert_int_equal(rc, 0);
				break;
			}
			assert_int_equal(rc, -ENOMEM);
		}
		assert_true(n > 1 && n < SWEEP_MAX);
	}
}

/* ---- a manifests reload ---- */

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[256], tmp[272];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(tmp, path), 0);
}

static void set_files(const char *dir, bool changed)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, changed ? "b.yaml" : "c.yaml");
	unlink(path);
	write_file(dir, "a.yaml", svc_a);
	write_file(dir, "a-eps.yaml", changed ? slice_a2 : slice_a);
	if (changed)
		write_file(dir, "c.yaml",
			   "apiVersion: v1\nkind: Service\nmetadata: {name: c}\n"
			   "spec: {clusterIP: 10.96.0.3, ports: [{port: 82}]}\n");
	else
		write_file(dir, "b.yaml", svc_b);
}

/* The model after a reload, with the files changed or not, and no failure. */
static void reference(const char *dir, bool changed, char *out, size_t len)
{
	struct proxy_model *m = model_new(NULL, NULL);
	struct proxy_source *src = source_manifests_new(dir, 30000, 32767);
	struct source_delta d;

	set_files(dir, false);
	assert_int_equal(src->ops->reload(src, m, &d), 0);
	set_files(dir, changed);
	assert_int_equal(src->ops->reload(src, m, &d), 0);
	describe(m, out, len);
	source_free(src);
	model_free(m);
}

/* A first reload of a directory, and one that changes a's slice, removes b and adds c, each
 * swept: a failed reload applies nothing, and the next one applies all. */
static int dir_setup(void **state)
{
	static char dir[32];

	snprintf(dir, sizeof(dir), "/tmp/drover-nomem-XXXXXX");
	*state = mkdtemp(dir);
	return *state ? 0 : -1;
}

/* Also after a failed assertion. */
static int dir_teardown(void **state)
{
	char cmd[64];

	failalloc_disarm();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", (const char *)*state);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_manifests_reload(void **state)
{
	const char *dir = *state;
	char old_state[4096], new_state[4096];
	unsigned long n;

	reference(dir, false, old_state, sizeof(old_state));
	reference(dir, true, new_state, sizeof(new_state));
	assert_string_not_equal(old_state, new_state);
	for (int phase = 0; phase < 2; phase++) {
		const char *from = phase ? old_state : "a:\nb:\nc:\n";
		const char *to = phase ? new_state : old_state;

		for (n = 1; n < SWEEP_MAX; n++) {
			struct proxy_model *m = model_new(NULL, NULL);
			struct proxy_source *src = source_manifests_new(dir, 30000, 32767);
			char now[4096];
			struct source_delta d;
			int rc;

			assert_non_null(m);
			assert_non_null(src);
			set_files(dir, false);
			if (phase) {
				assert_int_equal(src->ops->reload(src, m, &d), 0);
				set_files(dir, true);
			}
			failalloc_arm(n, FAILALLOC_THIS_THREAD);
			rc = src->ops->reload(src, m, &d);
			failalloc_disarm();
			describe(m, now, sizeof(now));
			if (rc == 0) {
				/* done, and with every allocation it made (a failed one is
				 * never absorbed: the reload says -ENOMEM) */
				assert_false(failalloc_fired());
				assert_string_equal(now, to);
			} else {
				/* nothing of it applied */
				assert_true(failalloc_fired());
				assert_int_equal(rc, -ENOMEM);
				assert_string_equal(now, from);
				/* the next reload, with memory, gets it all */
				assert_int_equal(src->ops->reload(src, m, &d), 0);
				describe(m, now, sizeof(now));
				assert_string_equal(now, to);
			}
			source_free(src);
			model_free(m);
			if (!failalloc_fired())
				break;
		}
		assert_true(n > 3 && n < SWEEP_MAX);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_set),
	    cmocka_unit_test(test_delete),
	    cmocka_unit_test(test_frontends_and_decode),
	    cmocka_unit_test_setup_teardown(test_manifests_reload, dir_setup, dir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
