/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_k8s_schema: the generated tables: lookups, kinds and plurals, the field facts the API
 * server will drive patches, apply and protobuf from, the repairs of types.json, and every
 * protobuf field of the .pb fixtures checked against the tables.
 */
#include <dirent.h>

#include "k8s_test.h"

#define T(id) (&k8s_schema_types[K8S_T_##id])

static const struct k8s_field *field(const struct k8s_type *t, const char *json)
{
	const struct k8s_field *f = k8s_field_find(t, json);

	if (!f)
		fail_msg("%s has no field %s", t->name, json);
	return f;
}

static void test_tables(void **state)
{
	(void)state;
	assert_true(K8S_T__COUNT >= 450);
	for (size_t i = 0; i < K8S_T__COUNT; i++) {
		const struct k8s_type *t = &k8s_schema_types[i];

		assert_non_null(t->name);
		if (i)
			assert_true(strcmp(k8s_schema_types[i - 1].name, t->name) < 0);
		assert_ptr_equal(k8s_type_find(t->name), t);
		for (size_t j = 0; j < t->nfields; j++) {
			const struct k8s_field *f = &t->fields[j];

			assert_non_null(f->go);
			assert_non_null(f->value);
			assert_true(f->value->kind >= K8S_V_STRING && f->value->kind <= K8S_V_ANY);
			if (f->value->kind == K8S_V_STRUCT)
				assert_non_null(f->value->type);
			if (f->value->kind == K8S_V_ARRAY || f->value->kind == K8S_V_MAP)
				assert_non_null(f->value->elem);
			if (f->value->kind == K8S_V_ENUM)
				assert_true(f->value->enm && f->value->enm->nvalues > 0);
			if (f->list_type == K8S_LIST_MAP)
				assert_non_null(f->list_map_keys);
			/* a default is JSON text */
			if (f->default_json) {
				struct fy_document *d =
				    fy_document_build_from_string(NULL, f->default_json, FY_NT);

				assert_non_null(d);
				fy_document_destroy(d);
			}
			if (!(f->flags & (K8S_F_NO_JSON | K8S_F_PB_ONLY)))
				assert_non_null(f->json);
		}
	}
	assert_null(k8s_type_find("io.k8s.api.core.v1.Nope"));
	assert_null(k8s_type_find(NULL));
	assert_ptr_equal(k8s_type_find("io.k8s.api.core.v1.Service"), T(core_v1_Service));
	assert_non_null(k8s_enum_find("io.k8s.api.core.v1.Protocol"));
	assert_true(k8s_enum_has(k8s_enum_find("io.k8s.api.core.v1.Protocol"), "SCTP", 4));
	assert_false(k8s_enum_has(k8s_enum_find("io.k8s.api.core.v1.Protocol"), "SCT", 3));
	assert_null(k8s_enum_find("nope"));
	assert_string_equal(k8s_vkind_name(K8S_V_INT32), "int32");
}

static void test_kinds(void **state)
{
	static const struct {
		const char *api_version, *kind, *resource;
		bool cluster;
	} kinds[] = {
	    {"v1", "Service", "services", false},
	    {"v1", "Endpoints", "endpoints", false},
	    {"v1", "Namespace", "namespaces", true},
	    {"v1", "Node", "nodes", true},
	    {"v1", "ComponentStatus", "componentstatuses", true},
	    {"v1", "Binding", "bindings", false},
	    {"apps/v1", "Deployment", "deployments", false},
	    {"apps/v1", "DaemonSet", "daemonsets", false},
	    {"discovery.k8s.io/v1", "EndpointSlice", "endpointslices", false},
	    {"networking.k8s.io/v1", "Ingress", "ingresses", false},
	    {"networking.k8s.io/v1", "IngressClass", "ingressclasses", true},
	    {"networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", false},
	    {"networking.k8s.io/v1", "IPAddress", "ipaddresses", true},
	    {"networking.k8s.io/v1", "ServiceCIDR", "servicecidrs", true},
	    {"policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", false},
	    {"rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings", true},
	    {"coordination.k8s.io/v1", "Lease", "leases", false},
	    {"autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", false},
	    {"batch/v1", "CronJob", "cronjobs", false},
	};
	const struct k8s_kind *k;

	(void)state;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		k = k8s_kind_find(kinds[i].api_version, kinds[i].kind);
		if (!k)
			fail_msg("no kind %s %s", kinds[i].api_version, kinds[i].kind);
		assert_string_equal(k->resource, kinds[i].resource);
		assert_int_equal(k->cluster_scoped, kinds[i].cluster);
		assert_true(k->flags & K8S_KIND_RESOURCE);
		assert_ptr_equal(k8s_kind_find_resource(k->group, k->version, k->resource), k);
		assert_ptr_equal(k8s_kind_of_type(k->type), k);
	}
	k = k8s_kind_find("v1", "Service");
	assert_string_equal(k->singular, "service");
	assert_string_equal(k->list_kind, "ServiceList");
	assert_string_equal(k->group, "");
	assert_ptr_equal(k->type, T(core_v1_Service));
	/* List kinds know their items */
	k = k8s_kind_find("v1", "ServiceList");
	assert_true(k->flags & K8S_KIND_LIST);
	assert_ptr_equal(k->item_kind, k8s_kind_find("v1", "Service"));
	assert_null(k->resource);
	k = k8s_kind_find("v1", "List");
	assert_true(k->flags & K8S_KIND_LIST);
	assert_null(k->item_kind);
	/* the kinds Kubernetes registers besides resources */
	assert_non_null(k8s_kind_find("v1", "Status"));
	assert_non_null(k8s_kind_find("v1", "APIGroup"));
	assert_non_null(k8s_kind_find("apps/v1", "DeleteOptions"));
	assert_non_null(k8s_kind_find("discovery.k8s.io/v1", "WatchEvent"));
	assert_non_null(k8s_kind_find("autoscaling/v1", "Scale"));
	assert_null(k8s_kind_find("v1", "Deployment"));
	assert_null(k8s_kind_find(NULL, "Pod"));
	assert_ptr_equal(k8s_kind_find_resource("", "v1", "pods"), k8s_kind_find("v1", "Pod"));
	assert_null(k8s_kind_find_resource("apps", "v1", "pods"));
	assert_null(k8s_kind_find_resource("", "v1", NULL));
	/* two versions of one kind */
	assert_ptr_not_equal(k8s_kind_find("autoscaling/v1", "HorizontalPodAutoscaler")->type,
			     k8s_kind_find("autoscaling/v2", "HorizontalPodAutoscaler")->type);
	/* the body of serviceaccounts/token is a kind, not a resource */
	k = k8s_kind_find("authentication.k8s.io/v1", "TokenRequest");
	assert_non_null(k);
	assert_null(k->resource);
	assert_false(k->flags & K8S_KIND_RESOURCE);
	assert_null(k8s_kind_find_resource("authentication.k8s.io", "v1", "tokenrequests"));
	/* the webhook bodies, registered though not in `kinds` */
	assert_ptr_equal(k8s_kind_find("admission.k8s.io/v1", "AdmissionReview")->type,
			 T(admission_v1_AdmissionReview));
	assert_ptr_equal(k8s_kind_find("apiextensions.k8s.io/v1", "ConversionReview")->type,
			 T(apiextensions_v1_ConversionReview));
	assert_string_equal(
	    k8s_kind_find("apiextensions.k8s.io/v1", "CustomResourceDefinition")->resource,
	    "customresourcedefinitions");
	assert_non_null(k8s_kind_find("apiregistration.k8s.io/v1", "APIServiceList"));
}

static void test_field_facts(void **state)
{
	const struct k8s_field *f;

	(void)state;
	/* ServicePort: the proxy's bread and butter */
	f = field(T(core_v1_ServicePort), "port");
	assert_int_equal(f->value->kind, K8S_V_INT32);
	assert_int_equal(f->pb_number, 3);
	assert_int_equal(f->pb_wire, K8S_PB_VARINT);
	assert_false(f->flags & K8S_F_OMITEMPTY);
	f = field(T(core_v1_ServicePort), "targetPort");
	assert_int_equal(f->value->kind, K8S_V_INT_OR_STRING);
	assert_ptr_equal(f->value->type, T(intstr_IntOrString));
	f = field(T(core_v1_ServicePort), "protocol");
	assert_int_equal(f->value->kind, K8S_V_ENUM);
	assert_string_equal(f->value->name, "io.k8s.api.core.v1.Protocol");
	assert_string_equal(f->default_json, "\"TCP\"");
	assert_true(f->flags & K8S_F_OPTIONAL);
	/* strategic merge and apply */
	f = field(T(core_v1_PodSpec), "containers");
	assert_int_equal(f->patch, K8S_PATCH_MERGE);
	assert_string_equal(f->patch_merge_key, "name");
	assert_int_equal(f->list_type, K8S_LIST_MAP);
	assert_string_equal(f->list_map_keys[0], "name");
	assert_null(f->list_map_keys[1]);
	assert_int_equal(f->pb_label, K8S_PB_REPEATED);
	f = field(T(core_v1_ServiceSpec), "ports");
	assert_string_equal(f->list_map_keys[0], "port");
	assert_string_equal(f->list_map_keys[1], "protocol");
	f = field(T(core_v1_PodSpec), "volumes");
	assert_int_equal(f->patch, K8S_PATCH_MERGE | K8S_PATCH_RETAIN_KEYS);
	assert_string_equal(f->patch_strategy, "merge,retainKeys");
	assert_int_equal(field(T(apps_v1_DeploymentSpec), "strategy")->patch,
			 K8S_PATCH_RETAIN_KEYS);
	assert_int_equal(field(T(policy_v1_PodDisruptionBudgetSpec), "selector")->patch,
			 K8S_PATCH_REPLACE);
	assert_int_equal(field(T(core_v1_ServiceSpec), "selector")->map_type, K8S_MAP_ATOMIC);
	assert_int_equal(field(T(core_v1_ServiceSpec), "clusterIPs")->list_type, K8S_LIST_ATOMIC);
	assert_int_equal(T(core_v1_LocalObjectReference)->struct_type, K8S_STRUCT_ATOMIC);
	assert_int_equal(field(T(core_v1_PersistentVolumeSpec), "claimRef")->struct_type,
			 K8S_STRUCT_GRANULAR);
	assert_true(field(T(apps_v1_DeploymentSpec), "selector")->flags & K8S_F_REQUIRED);
	/* protobuf: repeated varints may come packed */
	f = field(T(core_v1_PodSecurityContext), "supplementalGroups");
	assert_true(f->flags & K8S_F_PB_PACKABLE);
	assert_int_equal(f->pb_wire, K8S_PB_VARINT);
	assert_ptr_equal(k8s_field_find_pb(T(core_v1_ServicePort), 3),
			 field(T(core_v1_ServicePort), "port"));
	assert_null(k8s_field_find_pb(T(core_v1_ServicePort), 99));
	/* TypeMeta inline and embedded, not in protobuf; ObjectMeta embedded as "metadata" */
	f = &T(core_v1_Service)->fields[0];
	assert_string_equal(f->json, "");
	assert_string_equal(f->go, "TypeMeta");
	assert_int_equal(f->flags & (K8S_F_INLINE | K8S_F_EMBEDDED), K8S_F_INLINE | K8S_F_EMBEDDED);
	assert_int_equal(f->pb_number, 0);
	assert_ptr_equal(f->value->type, T(meta_v1_TypeMeta));
	assert_ptr_equal(field(T(core_v1_Service), "apiVersion"),
			 field(T(meta_v1_TypeMeta), "apiVersion"));
	f = field(T(core_v1_Service), "metadata");
	assert_string_equal(f->go, "ObjectMeta");
	assert_true(f->flags & K8S_F_EMBEDDED);
	assert_false(f->flags & K8S_F_INLINE);
	/* json:"-" */
	assert_null(k8s_field_find(T(meta_v1_TableOptions), "noHeaders"));
	assert_true(T(meta_v1_TableOptions)->fields[1].flags & K8S_F_NO_JSON);
	assert_null(k8s_field_find(T(core_v1_Service), NULL));
}

/* What the generator repaired in types.json is what Kubernetes has. */
static void test_repairs(void **state)
{
	static const struct {
		int type;
		const char *go, *through;
		int pb;
	} embedded[] = {
	    {K8S_T_core_v1_ConfigMapKeySelector, "LocalObjectReference", "name", 1},
	    {K8S_T_core_v1_SecretEnvSource, "LocalObjectReference", "name", 1},
	    {K8S_T_core_v1_Volume, "VolumeSource", "configMap", 2},
	    {K8S_T_core_v1_PersistentVolumeSpec, "PersistentVolumeSource", "hostPath", 2},
	    {K8S_T_core_v1_Probe, "ProbeHandler", "httpGet", 1},
	    {K8S_T_core_v1_EphemeralContainer, "EphemeralContainerCommon", "image", 1},
	    {K8S_T_networking_v1_IngressRule, "IngressRuleValue", "http", 2},
	    {K8S_T_meta_v1_Status, "TypeMeta", "kind", 0},
	};
	const struct k8s_field *f;

	(void)state;
	for (size_t i = 0; i < sizeof(embedded) / sizeof(embedded[0]); i++) {
		const struct k8s_type *t = &k8s_schema_types[embedded[i].type];

		f = NULL;
		for (size_t j = 0; j < t->nfields; j++)
			if (strcmp(t->fields[j].go, embedded[i].go) == 0)
				f = &t->fields[j];
		if (!f)
			fail_msg("%s: no embedded %s", t->name, embedded[i].go);
		assert_string_equal(f->json, "");
		assert_true(f->flags & K8S_F_INLINE);
		assert_true(f->flags & K8S_F_EMBEDDED);
		assert_int_equal(f->pb_number, embedded[i].pb);
		assert_string_equal(f->value->type->go, embedded[i].go);
		assert_non_null(k8s_field_find(t, embedded[i].through));
	}
	assert_int_equal(field(T(core_v1_EphemeralContainer), "image")->value->kind, K8S_V_STRING);
	assert_int_equal(T(core_v1_EphemeralContainer)->fields[0].pb_label, K8S_PB_REQUIRED);
	/* meta/v1 refs that lost their package; the Go name that was the package */
	assert_ptr_equal(field(T(apps_v1_Deployment), "metadata")->value->type,
			 T(meta_v1_ObjectMeta));
	assert_ptr_equal(field(T(batch_v1_JobList), "metadata")->value->type, T(meta_v1_ListMeta));
	assert_string_equal(field(T(batch_v1_JobList), "metadata")->go, "ListMeta");
	/* ResourceList is a map of quantities keyed by ResourceName */
	f = field(T(core_v1_ResourceRequirements), "limits");
	assert_int_equal(f->value->kind, K8S_V_MAP);
	assert_string_equal(f->value->name, "io.k8s.api.core.v1.ResourceList");
	assert_string_equal(f->value->key_name, "io.k8s.api.core.v1.ResourceName");
	assert_int_equal(f->value->elem->kind, K8S_V_QUANTITY);
	/* scheduling/v1alpha3 is not in types.json: any JSON */
	f = field(T(batch_v1_JobSchedulingConfiguration), "schedulingPolicy");
	assert_int_equal(f->value->kind, K8S_V_ANY);
	assert_string_equal(f->value->name, "schedulingv1alpha3.WorkloadPodGroupSchedulingPolicy");
	/* specials: no junk fields, their protobuf form instead */
	assert_int_equal(T(meta_v1_Time)->kind, K8S_V_TIME);
	assert_int_equal(T(meta_v1_Time)->nfields, 2);
	assert_string_equal(T(meta_v1_Time)->fields[0].go, "Seconds");
	assert_true(T(meta_v1_Time)->fields[0].flags & K8S_F_PB_ONLY);
	assert_null(T(meta_v1_Time)->fields[0].json);
	assert_int_equal(T(meta_v1_MicroTime)->kind, K8S_V_MICROTIME);
	assert_int_equal(T(meta_v1_Duration)->fields[0].pb_wire, K8S_PB_VARINT);
	assert_int_equal(T(resource_Quantity)->kind, K8S_V_QUANTITY);
	assert_int_equal(T(intstr_IntOrString)->nfields, 3);
	assert_int_equal(T(runtime_RawExtension)->kind, K8S_V_RAW_EXTENSION);
	assert_int_equal(T(meta_v1_FieldsV1)->kind, K8S_V_FIELDS_V1);
	assert_ptr_equal(k8s_field_find_pb(T(runtime_Unknown), 1)->value->type,
			 T(runtime_TypeMeta));
	assert_non_null(k8s_field_find(T(runtime_TypeMeta), "apiVersion"));
	/* protobuf wire and label from the Go type, not from inconsistent tags */
	f = field(T(discovery_v1_EndpointConditions), "ready");
	assert_int_equal(f->pb_wire, K8S_PB_VARINT);
	assert_int_equal(f->pb_label, K8S_PB_OPTIONAL);
	assert_int_equal(field(T(core_v1_PodSpec), "priority")->pb_wire, K8S_PB_VARINT);
	assert_int_equal(field(T(core_v1_PodSpec), "tolerations")->pb_label, K8S_PB_REPEATED);
	assert_int_equal(field(T(core_v1_PodStatus), "qosClass")->pb_label, K8S_PB_OPTIONAL);
	assert_int_equal(field(T(meta_v1_DeleteOptions), "propagationPolicy")->pb_wire, K8S_PB_LEN);
	/* a package-qualified reference: authenticationv1.UserInfo */
	assert_ptr_equal(field(T(admission_v1_AdmissionRequest), "userInfo")->value->type,
			 T(authentication_v1_UserInfo));
	/* named maps and slices of structs */
	f = field(T(apiextensions_v1_JSONSchemaProps), "definitions");
	assert_int_equal(f->value->kind, K8S_V_MAP);
	assert_ptr_equal(f->value->elem->type, T(apiextensions_v1_JSONSchemaProps));
	assert_int_equal(f->pb_label, K8S_PB_REPEATED);
	f = field(T(apiextensions_v1_JSONSchemaProps), "x-kubernetes-validations");
	assert_int_equal(f->value->kind, K8S_V_ARRAY);
	assert_ptr_equal(f->value->elem->type, T(apiextensions_v1_ValidationRule));
	assert_int_equal(f->pb_label, K8S_PB_REPEATED);
	f = field(T(apiextensions_v1_JSONSchemaProps), "dependencies");
	assert_int_equal(f->value->elem->kind, K8S_V_SCHEMA_OR_STRINGS);
	/* apiextensions' specials: their protobuf messages, with messages, bools and repeats */
	f = field(T(apiextensions_v1_JSONSchemaProps), "default");
	assert_int_equal(f->value->kind, K8S_V_JSON);
	assert_int_equal(T(apiextensions_v1_JSON)->fields[0].value->kind, K8S_V_BYTES);
	f = field(T(apiextensions_v1_JSONSchemaProps), "items");
	assert_int_equal(f->value->kind, K8S_V_SCHEMA_OR_ARRAY);
	assert_int_equal(k8s_field_find_pb(f->value->type, 1)->value->kind, K8S_V_STRUCT);
	assert_int_equal(k8s_field_find_pb(f->value->type, 2)->value->kind, K8S_V_ARRAY);
	assert_int_equal(k8s_field_find_pb(f->value->type, 2)->pb_label, K8S_PB_REPEATED);
	f = field(T(apiextensions_v1_JSONSchemaProps), "additionalProperties");
	assert_int_equal(f->value->kind, K8S_V_SCHEMA_OR_BOOL);
	assert_int_equal(k8s_field_find_pb(f->value->type, 1)->pb_wire, K8S_PB_VARINT);
	assert_ptr_equal(k8s_value_union_alt(f->value, K8S_SHAPE_OBJECT)->type,
			 T(apiextensions_v1_JSONSchemaProps));
	assert_int_equal(k8s_value_union_alt(f->value, K8S_SHAPE_BOOL)->kind, K8S_V_BOOL);
	assert_null(k8s_value_union_alt(f->value, K8S_SHAPE_ARRAY));
	assert_null(k8s_value_union_alt(f->value, K8S_SHAPE_OTHER));
	f = field(T(apiextensions_v1_JSONSchemaProps), "maximum");
	assert_int_equal(f->value->kind, K8S_V_FLOAT64);
	assert_int_equal(f->pb_wire, K8S_PB_FIXED64);
	/* lists protobuf wraps in a message: a JSON array of strings with a message type */
	f = field(T(meta_v1_APIResource), "verbs");
	assert_int_equal(f->value->kind, K8S_V_ARRAY);
	assert_int_equal(f->value->elem->kind, K8S_V_STRING);
	assert_ptr_equal(f->value->type, T(meta_v1_Verbs));
	assert_int_equal(f->pb_label, K8S_PB_OPTIONAL);
	assert_int_equal(T(meta_v1_Verbs)->fields[0].pb_label, K8S_PB_REPEATED);
	f = field(T(authentication_v1_UserInfo), "extra");
	assert_int_equal(f->value->kind, K8S_V_MAP);
	assert_ptr_equal(f->value->elem->type, T(authentication_v1_ExtraValue));
	/* a default that named a Go constant */
	assert_string_equal(field(T(core_v1_AzureDiskVolumeSource), "cachingMode")->default_json,
			    "\"ReadWrite\"");
	assert_string_equal(field(T(core_v1_AzureDiskVolumeSource), "kind")->default_json,
			    "\"Shared\"");
}

/* ---- the .pb fixtures against the tables ---- */

struct pb {
	const uint8_t *p, *end;
};

static bool pb_varint(struct pb *b, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; b->p < b->end && shift < 64; shift += 7) {
		uint8_t c = *b->p++;

		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return true;
	}
	return false;
}

/* Next field: number, wire type, and for LEN its bytes. */
static bool pb_next(struct pb *b, uint32_t *num, unsigned *wire, struct pb *sub)
{
	uint64_t key, len;

	if (b->p >= b->end || !pb_varint(b, &key))
		return false;
	*num = (uint32_t)(key >> 3);
	*wire = key & 7;
	switch (*wire) {
	case 0:
		return pb_varint(b, &len);
	case 1:
	case 5:
		b->p += *wire == 1 ? 8 : 4;
		return b->p <= b->end;
	case 2:
		if (!pb_varint(b, &len) || len > (uint64_t)(b->end - b->p))
			return false;
		sub->p = b->p;
		sub->end = b->p + len;
		b->p += len;
		return true;
	}
	return false;
}

static size_t pb_checked;

static void pb_message(struct pb b, const struct k8s_type *t, const char *where);

/* One occurrence of a value of v, as found on the wire. */
static void pb_value(unsigned wire, struct pb sub, const struct k8s_value *v, const char *where)
{
	switch (v->kind) {
	case K8S_V_ARRAY:
		if (v->type) {
			/* a wrapped list (ExtraValue, Verbs): a message of repeated items */
			assert_int_equal(wire, 2);
			pb_message(sub, v->type, where);
			return;
		}
		pb_value(wire, sub, v->elem, where); /* one element per occurrence */
		return;
	case K8S_V_MAP: {
		/* map entries: key = 1, value = 2 */
		uint32_t n;
		unsigned w;
		struct pb s2;

		assert_int_equal(wire, 2);
		while (pb_next(&sub, &n, &w, &s2)) {
			if (n == 2)
				pb_value(w, s2, v->elem, where);
			else if (n != 1 || w != 2)
				fail_msg("%s: map entry field %u wire %u", where, n, w);
		}
		return;
	}
	case K8S_V_INT32:
	case K8S_V_INT64:
	case K8S_V_BOOL:
		if (wire != 0)
			fail_msg("%s: varint expected, wire %u", where, wire);
		return;
	case K8S_V_FLOAT64:
		if (wire != 1)
			fail_msg("%s: fixed64 expected, wire %u", where, wire);
		return;
	case K8S_V_ANY:
		return;
	case K8S_V_STRUCT:
	case K8S_V_QUANTITY:
	case K8S_V_INT_OR_STRING:
	case K8S_V_TIME:
	case K8S_V_MICROTIME:
	case K8S_V_DURATION:
	case K8S_V_RAW_EXTENSION:
	case K8S_V_FIELDS_V1:
	case K8S_V_JSON:
	case K8S_V_SCHEMA_OR_ARRAY:
	case K8S_V_SCHEMA_OR_BOOL:
	case K8S_V_SCHEMA_OR_STRINGS:
		assert_int_equal(wire, 2);
		pb_message(sub, v->type, where);
		return;
	default:
		if (wire != 2)
			fail_msg("%s: bytes expected, wire %u", where, wire);
	}
}

static void pb_message(struct pb b, const struct k8s_type *t, const char *where)
{
	uint32_t num;
	unsigned wire;
	struct pb sub = {0};

	while (pb_next(&b, &num, &wire, &sub)) {
		const struct k8s_field *f = k8s_field_find_pb(t, num);
		char path[512];

		if (!f)
			fail_msg("%s (%s): no field number %u", where, t->name, num);
		snprintf(path, sizeof(path), "%s.%s", where,
			 f->json && f->json[0] ? f->json : f->go);
		if (wire != f->pb_wire && !((f->flags & K8S_F_PB_PACKABLE) && wire == 2))
			fail_msg("%s: table says wire %d, data has %u", path, f->pb_wire, wire);
		if (!(f->flags & K8S_F_PB_PACKABLE) || wire == 0)
			pb_value(wire, sub, f->value, path);
		pb_checked++;
	}
	assert_ptr_equal(b.p, b.end);
}

static void test_protobuf_fixtures(void **state)
{
	const char *dir = DROVER_TEST_DATA "/k8s-fixtures";
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t files = 0, jsons = 0;

	(void)state;
	assert_non_null(d);
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name), len = 0;
		char path[1024], api_version[128] = "", kind[128] = "";
		struct pb b, sub = {0}, raw = {0}, tm;
		uint32_t num;
		unsigned wire;
		uint8_t *buf;
		const struct k8s_kind *k;

		if (n > 5 && strcmp(de->d_name + n - 5, ".json") == 0)
			jsons++;
		if (n < 4 || strcmp(de->d_name + n - 3, ".pb") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		buf = (uint8_t *)read_file(path, &len);
		assert_non_null(buf);
		/* the envelope: "k8s\0" + runtime.Unknown{typeMeta=1, raw=2, ...} */
		assert_true(len > 4 && memcmp(buf, "k8s\0", 4) == 0);
		b.p = buf + 4;
		b.end = buf + len;
		pb_message(b, T(runtime_Unknown), "Unknown");
		while (pb_next(&b, &num, &wire, &sub)) {
			if (num == 2)
				raw = sub;
			if (num != 1)
				continue;
			tm = sub;
			while (pb_next(&tm, &num, &wire, &sub))
				snprintf(num == 1 ? api_version : kind, sizeof(kind), "%.*s",
					 (int)(sub.end - sub.p), (const char *)sub.p);
		}
		k = k8s_kind_find(api_version, kind);
		if (!k && strstr(de->d_name, "WatchEvent"))
			k = k8s_kind_find("v1", "WatchEvent"); /* sent with an empty TypeMeta */
		if (!k)
			fail_msg("%s: no kind %s %s", de->d_name, api_version, kind);
		pb_message(raw, k->type, k->kind);
		free(buf);
		files++;
	}
	closedir(d);
	/* every fixture there, each with its protobuf form */
	assert_true(files > 0);
	assert_int_equal(files, jsons);
	print_message("%zu protobuf fixtures, %zu fields checked\n", files, pb_checked);
	assert_true(pb_checked > 100 * files);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tables),
	    cmocka_unit_test(test_kinds),
	    cmocka_unit_test(test_field_facts),
	    cmocka_unit_test(test_repairs),
	    cmocka_unit_test(test_protobuf_fixtures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
