/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_token: the kubelet's token manager (pkg/kubelet/token/token_manager.go,
 * GetServiceAccountToken) for a pod's projected serviceAccountToken sources. Each source is
 * a TokenRequest (projected.go collectData) for the pod's service account, with the source's
 * audience (none: the server's own) and expirationSeconds (3600 when unset), bound to the pod
 * (apiVersion v1, kind Pod, name, uid), made with the agent's own credentials (a node may ask
 * only for its own pods' accounts: the Node authorizer and NodeRestriction). The answers are
 * kept per pod (its cache entries go with it, as DeleteServiceAccountToken) keyed by
 * account, audience and lifetime; one is asked again when requiresRefresh says so
 * (vol_token_requires_refresh: 80 % of its lifetime or 24 h, with up to 10 s jitter). A
 * refresh that fails keeps the old token while it has not expired.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "agent_pod.h"
#include "agent_vol.h"
#include "k8s.h"

struct atoken {
	struct atoken *next;
	char *sa, *aud; /* aud "": the API server's audience */
	int64_t exp_s;	/* the source's expirationSeconds: the cache key's */
	char *token;
	int64_t exp;	  /* status.expirationTimestamp (Unix seconds) */
	int64_t spec_exp; /* spec.expirationSeconds of the answer */
};

void agent_tokens_free(struct apod *p)
{
	struct atoken *t = p ? p->tokens : NULL;

	while (t) {
		struct atoken *n = t->next;

		free(t->sa);
		free(t->aud);
		free(t->token);
		free(t);
		t = n;
	}
	if (p)
		p->tokens = NULL;
}

/* RFC 3339 "YYYY-MM-DDTHH:MM:SSZ" (as the server writes metav1.Time) to Unix seconds, or -1. */
static int64_t parse_time(const char *s)
{
	struct tm tm = {0};
	const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;

	if (!end || (*end != 'Z' && *end != '.'))
		return -1;
	return (int64_t)timegm(&tm);
}

static int64_t jitter_s(void)
{
	unsigned char r = 0;

	if (getrandom(&r, 1, 0) != 1)
		r = 0;
	return r % VOL_TOKEN_MAX_JITTER_S; /* Go: int(rand.Float64() * 10) s */
}

/* The TokenRequest of projected.go collectData. */
static struct jv *token_request(struct jv_doc *d, const struct apod *p, const char *aud,
				int64_t exp_s)
{
	struct jv *tr = jv_new(d, JV_OBJECT), *spec = jv_new(d, JV_OBJECT),
		  *ref = jv_new(d, JV_OBJECT), *auds;

	if (!tr || !spec || !ref)
		return NULL;
	jv_set(d, tr, "apiVersion", jv_new_strz(d, "authentication.k8s.io/v1"));
	jv_set(d, tr, "kind", jv_new_strz(d, "TokenRequest"));
	if (aud[0]) { /* no audience: none sent, the server puts its own */
		auds = jv_new(d, JV_ARRAY);
		jv_push(auds, jv_new_strz(d, aud));
		jv_set(d, spec, "audiences", auds);
	}
	jv_set(d, spec, "expirationSeconds", jv_new_int(d, exp_s));
	jv_set(d, ref, "apiVersion", jv_new_strz(d, "v1"));
	jv_set(d, ref, "kind", jv_new_strz(d, "Pod"));
	jv_set(d, ref, "name", jv_new_strz(d, p->name));
	jv_set(d, ref, "uid", jv_new_strz(d, p->uid));
	jv_set(d, spec, "boundObjectRef", ref);
	jv_set(d, tr, "spec", spec);
	return tr;
}

/* ServiceAccounts(ns).CreateToken: the token, its expiration and lifetime into t (its old
 * token replaced). 0, or -errno with the server's message in err. */
static int fetch(struct agent *a, const struct apod *p, struct atoken *t, char *err, size_t errlen)
{
	const struct k8s_kind *k = k8s_kind_find("v1", "ServiceAccount");
	struct jv_doc *d = jv_doc_new();
	struct kc_status st = {0};
	struct kc_obj *o = NULL;
	struct jv *tr = d ? token_request(d, p, t->aud, t->exp_s) : NULL, *ans;
	const char *tok, *ts;
	int64_t exp, spec_exp = t->exp_s;
	int rc;

	if (!tr || !k) {
		jv_doc_free(d);
		return -ENOMEM;
	}
	rc = kc_create_sub(a->kc, k, p->ns, t->sa, "token", tr, NULL, &o, &st);
	if (rc) {
		snprintf(err, errlen, "%s", st.message[0] ? st.message : kc_strerror(rc));
		jv_doc_free(d);
		return rc < 0 ? rc : -EIO;
	}
	ans = kc_obj_parse(o, d);
	kc_obj_put(o);
	tok = jv_path_str(ans, "status.token");
	ts = jv_path_str(ans, "status.expirationTimestamp");
	exp = parse_time(ts);
	jv_path_int(ans, "spec.expirationSeconds", &spec_exp);
	if (!tok || !tok[0] || exp < 0) {
		snprintf(err, errlen, "the TokenRequest's answer has no token or expiration");
		jv_doc_free(d);
		return -EPROTO;
	}
	free(t->token);
	t->token = strdup(tok);
	t->exp = exp;
	t->spec_exp = spec_exp;
	jv_doc_free(d);
	return t->token ? 0 : -ENOMEM;
}

int agent_token_get(struct agent *a, struct apod *p, const struct jv *pod, const struct jv *tp,
		    char **tok, char *err, size_t errlen)
{
	const char *sa = jv_path_str(pod, "spec.serviceAccountName"),
		   *aud = jv_path_str(tp, "audience");
	int64_t exp_s = 3600,
		now = (int64_t)time(NULL); /* SetDefaults_ServiceAccountTokenProjection */
	struct atoken *t;
	char why[1024] = "";
	bool cached;
	int rc;

	sa = sa && sa[0] ? sa : "default";
	aud = aud ? aud : "";
	jv_path_int(tp, "expirationSeconds", &exp_s);
	for (t = p->tokens; t; t = t->next)
		if (!strcmp(t->sa, sa) && !strcmp(t->aud, aud) && t->exp_s == exp_s)
			break;
	cached = t && t->token;
	if (cached && !vol_token_requires_refresh(now, t->exp, t->spec_exp, jitter_s()))
		goto out;
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t || !(t->sa = strdup(sa)) || !(t->aud = strdup(aud))) {
			if (t)
				free(t->sa);
			free(t);
			return -ENOMEM;
		}
		t->exp_s = exp_s;
		t->next = p->tokens;
		p->tokens = t;
	}
	rc = fetch(a, p, t, why, sizeof(why));
	if (rc == -ENOMEM)
		return rc;
	if (rc && !cached) {
		snprintf(err, errlen, "failed to fetch token: %s", why);
		return -EINVAL;
	}
	if (rc && now > t->exp) {
		snprintf(err, errlen, "token \"%s\"/\"%s\" expired and refresh failed: %s", sa,
			 p->ns, why);
		return -EINVAL;
	}
	if (rc)
		log_warn(AGENT_COMP, "pod %s: couldn't update token of %s/%s: %s", p->key, p->ns,
			 sa, why);
out:
	*tok = strdup(t->token);
	return *tok ? 0 : -ENOMEM;
}
