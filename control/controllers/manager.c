/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manager: the controller manager (controllers.h). It picks the controllers --controllers
 * names, lets each make what it needs (shared informers, one per kind, cluster-wide, with
 * the indexes controllers ask for; its work queues; its Event recorder), starts every
 * informer, waits until all have listed (a controller never acts on a partial view), then
 * starts the controllers' workers. Stopping runs the other way round.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrl.h"
#include "log.h"

#define COMP "controller-manager"

/* Every controller drover has, in the order they start. */
extern const struct ctrl_desc *const ctrl_all[];
extern const size_t ctrl_nall;

struct shared {
	const struct k8s_kind *kind;
	struct kc_informer *inf;
	char **indexes;
	size_t nindexes;
};

struct running {
	const struct ctrl_desc *desc;
	struct ctrl_ctx ctx;
	void *state;
	bool started;
};

struct ctrl_manager {
	struct kclient *kc;
	struct ctrl_config cfg;
	struct shared *sh;
	size_t nsh;
	struct running *run;
	size_t nrun;
	bool informers_started;
};

/* ---- shared informers ---- */

struct kc_informer *ctrl_informer(struct ctrl_ctx *c, const struct k8s_kind *k)
{
	struct ctrl_manager *m = c->m;
	struct kc_informer_opts o = {.kind = k};
	struct shared *sh;

	for (size_t i = 0; i < m->nsh; i++)
		if (m->sh[i].kind == k)
			return m->sh[i].inf;
	if (m->informers_started)
		return NULL;
	sh = realloc(m->sh, (m->nsh + 1) * sizeof(*sh));
	if (!sh)
		return NULL;
	m->sh = sh;
	sh = &m->sh[m->nsh];
	memset(sh, 0, sizeof(*sh));
	sh->kind = k;
	sh->inf = kc_informer_new(m->kc, &o);
	if (!sh->inf)
		return NULL;
	m->nsh++;
	return sh->inf;
}

int ctrl_informer_index(struct ctrl_ctx *c, const struct k8s_kind *k, const char *name,
			kc_index_fn fn)
{
	struct kc_informer *inf = ctrl_informer(c, k);
	struct shared *sh = NULL;
	char **idx;
	int err;

	if (!inf)
		return -ENOMEM;
	for (size_t i = 0; i < c->m->nsh; i++)
		if (c->m->sh[i].inf == inf)
			sh = &c->m->sh[i];
	for (size_t i = 0; i < sh->nindexes; i++)
		if (strcmp(sh->indexes[i], name) == 0)
			return 0;
	idx = realloc(sh->indexes, (sh->nindexes + 1) * sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	sh->indexes = idx;
	idx[sh->nindexes] = strdup(name);
	if (!idx[sh->nindexes])
		return -ENOMEM;
	err = kc_informer_add_index(inf, name, fn);
	if (err) {
		free(idx[sh->nindexes]);
		return err;
	}
	sh->nindexes++;
	return 0;
}

struct kc_informer *ctrl_manager_informer(struct ctrl_manager *m, const struct k8s_kind *k)
{
	for (size_t i = 0; m && i < m->nsh; i++)
		if (m->sh[i].kind == k)
			return m->sh[i].inf;
	return NULL;
}

/* ---- which controllers ---- */

/* Does the --controllers list select desc? As kube-controller-manager: a name selects it,
 * "-name" deselects it, "*" selects those on by default. */
static bool selected(const char *list, const struct ctrl_desc *desc)
{
	char buf[1024], *save = NULL;
	bool on = false;

	snprintf(buf, sizeof(buf), "%s", list && list[0] ? list : "*");
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ')
			t++;
		if (strcmp(t, "*") == 0)
			on = on || !desc->off_by_default;
		else if (t[0] == '-' && strcmp(t + 1, desc->name) == 0)
			return false;
		else if (strcmp(t, desc->name) == 0)
			on = true;
	}
	return on;
}

int ctrl_check_names(const char *list, char *bad, size_t size)
{
	char buf[1024], *save = NULL;

	if (list && strlen(list) >= sizeof(buf)) {
		snprintf(bad, size, "%.40s...", list);
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", list && list[0] ? list : "*");
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		const char *n = t[0] == '-' ? t + 1 : t;
		bool known = strcmp(n, "*") == 0;

		for (size_t i = 0; i < ctrl_nall && !known; i++)
			known = strcmp(ctrl_all[i]->name, n) == 0;
		if (!known) {
			snprintf(bad, size, "%s", n);
			return -EINVAL;
		}
	}
	return 0;
}

/* Every name in the list must be a controller's. */
static int check_names(const char *list)
{
	char bad[64];

	if (ctrl_check_names(list, bad, sizeof(bad)) == 0)
		return 0;
	log_error(COMP,
		  "--controllers: unknown controller \"%s\" (drover server --help lists them)",
		  bad);
	return -EINVAL;
}

void ctrl_list(FILE *out)
{
	for (size_t i = 0; i < ctrl_nall; i++)
		fprintf(out, "  %s%s\n", ctrl_all[i]->name,
			ctrl_all[i]->off_by_default ? " (off by default)" : "");
}

/* ---- lifecycle ---- */

int ctrl_manager_start(struct kclient *kc, const struct ctrl_config *cfg, struct ctrl_manager **out)
{
	struct ctrl_manager *m = calloc(1, sizeof(*m));
	int err = 0;

	*out = NULL;
	if (!m)
		return -ENOMEM;
	m->kc = kc;
	m->cfg = *cfg;
	if (!m->cfg.workers)
		m->cfg.workers = 2;
	if (!m->cfg.node_grace_s)
		m->cfg.node_grace_s = 10;
	err = check_names(cfg->controllers);
	if (err)
		goto fail;
	m->run = calloc(ctrl_nall, sizeof(*m->run));
	if (!m->run) {
		err = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < ctrl_nall; i++) {
		const struct ctrl_desc *desc = ctrl_all[i];
		struct running *r = &m->run[m->nrun];

		if (!selected(cfg->controllers, desc))
			continue;
		r->desc = desc;
		r->ctx = (struct ctrl_ctx){.kc = kc, .cfg = &m->cfg, .m = m, .name = desc->name};
		r->ctx.rec = kc_recorder_new(kc, desc->component);
		if (!r->ctx.rec) {
			err = -ENOMEM;
			goto fail;
		}
		m->nrun++;
		err = desc->init(&r->ctx, &r->state);
		if (err) {
			log_error(COMP, "%s: %s", desc->name, strerror(-err));
			goto fail;
		}
	}
	m->informers_started = true;
	for (size_t i = 0; i < m->nsh; i++) {
		err = kc_informer_start(m->sh[i].inf);
		if (err)
			goto fail;
	}
	for (size_t i = 0; i < m->nsh; i++)
		kc_informer_wait_synced(m->sh[i].inf, -1);
	for (size_t i = 0; i < m->nrun; i++) {
		err = m->run[i].desc->run(m->run[i].state);
		if (err) {
			log_error(COMP, "%s: %s", m->run[i].desc->name, strerror(-err));
			goto fail;
		}
		m->run[i].started = true;
	}
	log_info(COMP, "%zu controllers over %zu shared informers", m->nrun, m->nsh);
	*out = m;
	return 0;
fail:
	ctrl_manager_stop(m);
	return err;
}

void ctrl_manager_stop(struct ctrl_manager *m)
{
	if (!m)
		return;
	/* the informers' threads first (no handler runs into a controller being freed), then
	 * the controllers (their workers still read the caches), then the informers */
	for (size_t i = 0; i < m->nsh; i++)
		kc_informer_stop(m->sh[i].inf);
	for (size_t i = m->nrun; i-- > 0;) {
		if (m->run[i].desc->stop)
			m->run[i].desc->stop(m->run[i].state);
	}
	for (size_t i = 0; i < m->nsh; i++) {
		kc_informer_free(m->sh[i].inf);
		for (size_t j = 0; j < m->sh[i].nindexes; j++)
			free(m->sh[i].indexes[j]);
		free(m->sh[i].indexes);
	}
	for (size_t i = 0; i < m->nrun; i++)
		kc_recorder_free(m->run[i].ctx.rec);
	free(m->sh);
	free(m->run);
	free(m);
}
