/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api_alloc: ClusterIPs and NodePorts are allocated in the store, so two API servers over
 * one store never hand out the same value: two registries over one store create Services from
 * several threads each, and every ClusterIP and NodePort ends up held once; the allocation
 * keys match the Services; a Service's delete frees its values for the other registry; a
 * restart's repair releases a key no Service holds and re-takes one a Service holds without a
 * key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_obj.h"
#include "api_resources.h"
#include "hmap.h"
#include "registry.h"

#define PER_THREAD 40
#define THREADS	   4 /* per registry */

struct env {
	char dir[64];
	struct store *st;
	struct registry *reg[2];
};

static void env_open(struct env *e)
{
	struct store_embedded_opts so = {.sz = sizeof(so)};
	struct registry_config rc = {
	    .service_cidr = "10.96.0.0/24", .nodeport_min = 30000, .nodeport_max = 30999};

	snprintf(e->dir, sizeof(e->dir), "/tmp/test_api_alloc.XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	so.dir = e->dir;
	assert_int_equal(store_open_embedded(&so, &e->st), 0);
	assert_int_equal(registry_new(e->st, &rc, &e->reg[0]), 0);
	assert_int_equal(registry_new(e->st, &rc, &e->reg[1]), 0);
}

static void env_close(struct env *e, bool remove)
{
	char cmd[128];

	registry_free(e->reg[0]);
	registry_free(e->reg[1]);
	store_close(e->st);
	if (remove) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
		assert_int_equal(system(cmd), 0);
	}
}

static const struct api_resource *svc_res(void)
{
	return api_resource_find("", "v1", "services");
}

/* Create Service ns/name of type NodePort through reg; 0 or the result's code. */
static unsigned create_svc(struct registry *reg, const char *ns, const char *name)
{
	char body[512];
	struct jv_doc *d = jv_doc_new();
	struct reg_req rq = {.res = svc_res(), .ns = ns, .manager = "test", .d = d};
	struct api_result out = {0};
	struct jv *o;
	unsigned code;

	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"%s\"},"
		 "\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":80}]}}",
		 name);
	o = jv_parse(d, body, strlen(body), NULL);
	reg_create(reg, &rq, o, &out);
	code = out.code;
	api_result_free(&out);
	jv_doc_free(d);
	return code;
}

struct worker {
	struct registry *reg;
	int id;
	int created;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	char name[32];

	for (int i = 0; i < PER_THREAD; i++) {
		snprintf(name, sizeof(name), "s-%d-%d", w->id, i);
		if (create_svc(w->reg, "default", name) == 201)
			w->created++;
	}
	return NULL;
}

/* Every Service's ClusterIP and NodePort, checked unique; returns how many Services. */
static size_t check_unique(struct store *st)
{
	struct store_list l;
	struct hmap *ips = hmap_new(), *ports = hmap_new();
	size_t n;

	assert_int_equal(api_list_all(st, svc_res(), NULL, 0, &l), 0);
	for (size_t i = 0; i < l.count; i++) {
		struct jv_doc *d = jv_doc_new();
		struct jv *o = api_load_object(d, l.items[i].value, l.items[i].value_len, 0);
		const char *ip = jv_path_str(o, "spec.clusterIP");
		int64_t np = 0;
		char port[16];

		assert_non_null(ip);
		if (hmap_sget(ips, ip))
			fail_msg("ClusterIP %s held twice", ip);
		hmap_sput(ips, ip, (void *)1, NULL);
		if (jv_path_int(o, "spec.ports[0].nodePort", &np) == 0 && np) {
			snprintf(port, sizeof(port), "%lld", (long long)np);
			if (hmap_sget(ports, port))
				fail_msg("NodePort %s held twice", port);
			hmap_sput(ports, port, (void *)1, NULL);
		}
		jv_doc_free(d);
	}
	n = l.count;
	store_list_free(&l);
	hmap_free(ips);
	hmap_free(ports);
	return n;
}

static size_t count_keys(struct store *st, const char *prefix)
{
	struct store_list_opts lo = {.prefix = prefix, .prefix_len = strlen(prefix)};
	struct store_list l;
	size_t n;

	assert_int_equal(store_list(st, &lo, &l), 0);
	n = l.count;
	store_list_free(&l);
	return n;
}

static void test_two_servers_one_store(void **state)
{
	struct env e;
	struct worker w[2 * THREADS];
	pthread_t t[2 * THREADS];
	size_t made = 0, services;

	(void)state;
	env_open(&e);
	/* the kubernetes Service's address as a server's bootstrap takes it */
	assert_int_equal(reg_bootstrap(e.reg[0], 0), 0);
	for (int i = 0; i < 2 * THREADS; i++) {
		w[i] = (struct worker){.reg = e.reg[i % 2], .id = i};
		pthread_create(&t[i], NULL, work, &w[i]);
	}
	for (int i = 0; i < 2 * THREADS; i++) {
		pthread_join(t[i], NULL);
		made += (size_t)w[i].created;
	}
	/* /24: 253 addresses for 321 Services: some had to fail, none twice */
	services = check_unique(e.st);
	assert_int_equal(services, made + 1);
	assert_true(made >= 200);
	/* one key per value held */
	assert_int_equal(count_keys(e.st, "/registry/ranges/serviceips/"), services);
	assert_int_equal(count_keys(e.st, "/registry/ranges/servicenodeports/"), made);
	env_close(&e, true);
}

static void test_release_and_repair(void **state)
{
	struct env e;
	struct jv_doc *d = jv_doc_new();
	struct reg_req rq = {.res = svc_res(), .ns = "default", .name = "a", .d = d};
	struct reg_delete_opts o = REG_DELETE_OPTS_INIT;
	struct api_result out = {0};
	struct store_kv kv = {0};
	const char *stray = "/registry/ranges/serviceips/10.96.0.200";
	const char *old = "{\"owner\":\"x/y\",\"time\":1}";

	(void)state;
	env_open(&e);
	assert_int_equal(reg_bootstrap(e.reg[0], 0), 0); /* the namespaces, and 10.96.0.1 */
	assert_int_equal(create_svc(e.reg[0], "default", "a"), 201);
	assert_int_equal(count_keys(e.st, "/registry/ranges/serviceips/"), 2);
	/* deleted through one registry: the values are free for the other */
	assert_int_equal(reg_delete(e.reg[0], &rq, &o, &out), 0);
	api_result_free(&out);
	assert_int_equal(count_keys(e.st, "/registry/ranges/serviceips/"), 1);
	assert_int_equal(count_keys(e.st, "/registry/ranges/servicenodeports/"), 0);
	/* a stray key (a crash between taking and storing), and a Service with no key */
	assert_int_equal(store_create(e.st, stray, strlen(stray), old, strlen(old), NULL), 0);
	assert_int_equal(create_svc(e.reg[1], "default", "b"), 201);
	{
		struct store_list_opts lo = {.prefix = "/registry/ranges/",
					     .prefix_len = strlen("/registry/ranges/")};
		struct store_list l;

		assert_int_equal(store_list(e.st, &lo, &l), 0);
		for (size_t i = 0; i < l.count; i++)
			if (l.items[i].key_len != strlen(stray) ||
			    memcmp(l.items[i].key, stray, strlen(stray)) != 0)
				assert_int_equal(
				    store_delete(e.st, l.items[i].key, l.items[i].key_len, 0, NULL),
				    0);
		store_list_free(&l);
	}
	env_close(&e, false);
	/* a restart repairs: the stray key goes, b's values are held again */
	{
		struct store_embedded_opts so = {.sz = sizeof(so), .dir = e.dir};
		struct registry_config rc = {
		    .service_cidr = "10.96.0.0/24", .nodeport_min = 30000, .nodeport_max = 30999};

		assert_int_equal(store_open_embedded(&so, &e.st), 0);
		assert_int_equal(registry_new(e.st, &rc, &e.reg[0]), 0);
		e.reg[1] = NULL;
	}
	assert_int_equal(store_get(e.st, stray, strlen(stray), 0, &kv), -ENOENT);
	assert_int_equal(count_keys(e.st, "/registry/ranges/serviceips/"), 2);
	assert_int_equal(count_keys(e.st, "/registry/ranges/servicenodeports/"), 1);
	assert_int_equal(check_unique(e.st), 2);
	jv_doc_free(d);
	env_close(&e, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_two_servers_one_store),
	    cmocka_unit_test(test_release_and_repair),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
