# SPDX-License-Identifier: Apache-2.0
"""apifacts: what the Kubernetes API server says about each resource beyond its type.

types.json describes the types; these are the facts of the API server itself, transcribed from
Kubernetes 1.32 (Apache-2.0):
  - short names and categories: each resource's REST storage (pkg/registry/<group>/<res>/
    storage/storage.go: ShortNames(), Categories());
  - verbs and subresources: the discovery document kube-apiserver 1.32 serves;
  - field selectors: each registry's GetAttrs / ToSelectableFields and the field label
    conversion funcs of pkg/apis/<group>/v1/conversion.go;
  - Table columns: pkg/printers/internalversion/printers.go (AddHandlers): name, type,
    format, priority; descriptions are the API docs of the fields they show, shortened;
  - behaviour flags: strategies' AllowCreateOnUpdate, the kinds whose spec changes bump
    metadata.generation, and the kinds with status/scale subresources;
  - "strategy": the resource's REST strategy in drover (control/api/strategy/strategies.c:
    api_strategy_<name>); none: the default one;
  - "table_order": how a list's printer sorts its Table rows (control/api/codec/table.c
    implements the named orders); none: the list's own order.

Each column's `cell` says how drover fills it (control/api/table.c implements the named
functions): "name", "age", "fn:<name>" (a printer's own logic), "str:<path>" (the string at a
path, "<none>" when absent), "int:<path>" (an integer, 0 when absent), "bool:<path>" (a
boolean, false when absent).

k8sgen.py reads this module and writes control/api/api_resources_gen.c; nothing here is
read at run time.
"""

# Column descriptions shared by many kinds (Kubernetes' ObjectMeta docs, shortened).
NAME_DESC = ("Name must be unique within a namespace. Is required when creating resources, "
             "although some resources may allow a client to request the generation of an "
             "appropriate name automatically. Name is primarily intended for creation "
             "idempotence and configuration definition. Cannot be updated. More info: "
             "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names")
AGE_DESC = ("CreationTimestamp is a timestamp representing the server time when this object "
            "was created. It is not guaranteed to be set in happens-before order across "
            "separate operations. Clients may not set this value. It is represented in "
            "RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for "
            "lists. More info: https://git.k8s.io/community/contributors/devel/sig-"
            "architecture/api-conventions.md#metadata")


def col(name, typ, cell, desc="", priority=0, fmt=""):
    return {"name": name, "type": typ, "format": fmt, "description": desc,
            "priority": priority, "cell": cell}


NAME = col("Name", "string", "name", NAME_DESC, fmt="name")
AGE = col("Age", "string", "age", AGE_DESC)
CREATED_AT = col("Created At", "date", "fn:created_at", AGE_DESC)
CONTAINERS = col("Containers", "string", "fn:template_containers",
                 "Names of each container in the template.", 1)
IMAGES = col("Images", "string", "fn:template_images",
             "Images referenced by each container in the template.", 1)
SELECTOR = col("Selector", "string", "fn:label_selector", "Label selector for pods.", 1)

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
NO_DELCOLL = ["create", "delete", "get", "list", "patch", "update", "watch"]
STATUS_VERBS = ["get", "patch", "update"]

META_FIELDS = ["metadata.name", "metadata.namespace"]

# The HorizontalPodAutoscaler's columns, in both of its served versions.
HPA_COLUMNS = [NAME,
               col("Reference", "string", "fn:hpa_reference",
                   "Reference to the scaled resource"),
               col("Targets", "string", "fn:hpa_targets",
                   "The current and target values of the metrics."),
               col("MinPods", "string", "fn:hpa_min",
                   "Lower limit for the number of pods."),
               col("MaxPods", "integer", "int:spec.maxReplicas",
                   "Upper limit for the number of pods."),
               col("Replicas", "integer", "int:status.currentReplicas",
                   "Current number of replicas of pods managed by this autoscaler."),
               AGE]

# The Event columns, of core/v1 and of events.k8s.io/v1 (one storage, one printer).
EVENT_COLUMNS = [col("Last Seen", "string", "fn:event_last_seen",
                     "Time when this Event was last observed."),
                 col("Type", "string", "str:type",
                     "Type of this event (Normal, Warning), new types could be added in "
                     "the future"),
                 col("Reason", "string", "str:reason",
                     "This should be a short, machine understandable string that gives "
                     "the reason for the transition into the object's current status."),
                 col("Object", "string", "fn:event_object", "The object that this event "
                     "is about."),
                 col("Subobject", "string", "str:involvedObject.fieldPath",
                     "The subobject (e.g. a container) that this event is about.", 1),
                 col("Source", "string", "fn:event_source",
                     "The component reporting this event.", 1),
                 col("Message", "string", "str:message",
                     "A human-readable description of the status of this operation."),
                 col("First Seen", "string", "fn:event_first_seen",
                     "The time at which the event was first recorded.", 1),
                 col("Count", "string", "fn:event_count",
                     "The number of times this event has occurred.", 1),
                 col("Name", "string", "name", NAME_DESC, 1, "name")]

# The columns of both webhook configurations (printers.go printMutatingWebhook and
# printValidatingWebhook).
WEBHOOK_COLUMNS = [NAME,
                   col("Webhooks", "integer", "fn:webhook_count",
                       "Webhooks indicates the number of webhooks registered in this "
                       "configuration"),
                   AGE]

# Every served resource: (group, version, kind) -> facts. The order is discovery's order.
RESOURCES = [
    {
        "gvk": ("", "v1", "Namespace"), "strategy": "namespaces", "verbs": NO_DELCOLL, "short": ["ns"],
        "subresources": [("status", "Namespace", STATUS_VERBS),
                         ("finalize", "Namespace", ["update"])],
        "fields": META_FIELDS + ["status.phase"],
        "columns": [NAME,
                    col("Status", "string", "str:status.phase",
                        "The status of the namespace"),
                    AGE],
    },
    {
        "gvk": ("", "v1", "Node"), "strategy": "nodes", "verbs": ALL_VERBS, "short": ["no"],
        "subresources": [("status", "Node", STATUS_VERBS), ("proxy", "NodeProxyOptions",
                                                            ["create", "delete", "get",
                                                             "patch", "update"])],
        "fields": META_FIELDS + ["spec.unschedulable"],
        "columns": [NAME,
                    col("Status", "string", "fn:node_status",
                        "The status of the node"),
                    col("Roles", "string", "fn:node_roles", "The roles of the node"),
                    AGE,
                    col("Version", "string", "str:status.nodeInfo.kubeletVersion",
                        "Kubelet Version reported by the node."),
                    col("Internal-IP", "string", "fn:node_internal_ip",
                        "List of addresses reachable to the node.", 1),
                    col("External-IP", "string", "fn:node_external_ip",
                        "List of addresses reachable to the node.", 1),
                    col("OS-Image", "string", "str:status.nodeInfo.osImage",
                        "OS Image reported by the node from /etc/os-release (e.g. "
                        "Debian GNU/Linux 7 (wheezy)).", 1),
                    col("Kernel-Version", "string", "str:status.nodeInfo.kernelVersion",
                        "Kernel Version reported by the node from 'uname -r' (e.g. "
                        "3.16.0-0.bpo.4-amd64).", 1),
                    col("Container-Runtime", "string", "str:status.nodeInfo."
                        "containerRuntimeVersion",
                        "ContainerRuntime Version reported by the node through runtime "
                        "remote API (e.g. containerd://1.4.2).", 1)],
    },
    {
        "gvk": ("", "v1", "Pod"), "strategy": "pods", "verbs": ALL_VERBS, "short": ["po"], "categories": ["all"],
        "subresources": [("attach", "PodAttachOptions", ["create", "get"]),
                         ("binding", "Binding", ["create"]),
                         ("ephemeralcontainers", "Pod", STATUS_VERBS),
                         ("eviction", "policy/v1/Eviction", ["create"]),
                         ("exec", "PodExecOptions", ["create", "get"]),
                         ("log", "Pod", ["get"]),
                         ("portforward", "PodPortForwardOptions", ["create", "get"]),
                         ("proxy", "PodProxyOptions",
                          ["create", "delete", "get", "patch", "update"]),
                         ("status", "Pod", STATUS_VERBS)],
        "fields": META_FIELDS + ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                                 "spec.serviceAccountName", "spec.hostNetwork",
                                 "status.phase", "status.podIP", "status.nominatedNodeName"],
        "columns": [NAME,
                    col("Ready", "string", "fn:pod_ready",
                        "The aggregate readiness state of this pod for accepting traffic."),
                    col("Status", "string", "fn:pod_status",
                        "The aggregate status of the containers in this pod."),
                    col("Restarts", "string", "fn:pod_restarts",
                        "The number of times the containers in this pod have been "
                        "restarted and when the last container in this pod has "
                        "restarted."),
                    AGE,
                    col("IP", "string", "fn:pod_ip", "The IP address assigned to the pod.", 1),
                    col("Node", "string", "str:spec.nodeName",
                        "Name of the node assigned to this pod.", 1),
                    col("Nominated Node", "string", "str:status.nominatedNodeName",
                        "The name of the node the pod is nominated to; set when the pod "
                        "preempted others.", 1),
                    col("Readiness Gates", "string", "fn:pod_readiness_gates",
                        "Pod readiness gates and how many of them are true.", 1)],
    },
    {
        "gvk": ("", "v1", "Binding"), "verbs": ["create"], "columns": [],
    },
    {
        "gvk": ("", "v1", "Service"), "strategy": "services", "verbs": ALL_VERBS, "short": ["svc"],
        "categories": ["all"],
        "subresources": [("proxy", "ServiceProxyOptions",
                          ["create", "delete", "get", "patch", "update"]),
                         ("status", "Service", STATUS_VERBS)],
        "fields": META_FIELDS + ["spec.clusterIP", "spec.type"],
        "columns": [NAME,
                    col("Type", "string", "str:spec.type",
                        "The type of the service (ClusterIP, NodePort, LoadBalancer or "
                        "ExternalName)."),
                    col("Cluster-IP", "string", "fn:svc_cluster_ip",
                        "The IP address of the service inside the cluster."),
                    col("External-IP", "string", "fn:svc_external_ip",
                        "The external IPs of the service."),
                    col("Port(s)", "string", "fn:svc_ports",
                        "The ports exposed by the service."),
                    AGE,
                    col("Selector", "string", "fn:svc_selector",
                        "Route service traffic to pods with label keys and values matching "
                        "this selector.", 1)],
    },
    {
        "gvk": ("", "v1", "Endpoints"), "strategy": "endpoints", "verbs": ALL_VERBS, "short": ["ep"],
        "create_on_update": True, "fields": META_FIELDS,
        "columns": [NAME,
                    col("Endpoints", "string", "fn:endpoints",
                        "Endpoints of the service."),
                    AGE],
    },
    {
        "gvk": ("discovery.k8s.io", "v1", "EndpointSlice"), "strategy": "endpointslices", "verbs": ALL_VERBS,
        "fields": META_FIELDS,
        "columns": [NAME,
                    col("AddressType", "string", "str:addressType",
                        "The type of address carried by this EndpointSlice."),
                    col("Ports", "string", "fn:slice_ports",
                        "Ports exposed by the endpoints."),
                    col("Endpoints", "string", "fn:slice_endpoints",
                        "Addresses of the endpoints."),
                    AGE],
    },
    {
        "gvk": ("", "v1", "ConfigMap"), "strategy": "configmaps", "verbs": ALL_VERBS, "short": ["cm"],
        "fields": META_FIELDS,
        "columns": [NAME,
                    col("Data", "integer", "fn:data_count",
                        "Number of keys in data and binaryData."),
                    AGE],
    },
    {
        "gvk": ("", "v1", "Secret"), "strategy": "secrets", "verbs": ALL_VERBS, "fields": META_FIELDS + ["type"],
        "columns": [NAME,
                    col("Type", "string", "str:type",
                        "The type of the secret (Opaque, kubernetes.io/tls ...)."),
                    col("Data", "integer", "fn:data_count", "Number of keys in data."),
                    AGE],
    },
    {
        "gvk": ("", "v1", "ServiceAccount"), "verbs": ALL_VERBS, "short": ["sa"],
        "subresources": [("token", "authentication.k8s.io/v1/TokenRequest", ["create"])],
        "fields": META_FIELDS,
        "columns": [NAME,
                    col("Secrets", "integer", "fn:sa_secrets",
                        "Number of secrets listed in secrets."),
                    AGE],
    },
    {
        "gvk": ("", "v1", "Event"), "strategy": "events", "verbs": ALL_VERBS, "short": ["ev"],
        "create_on_update": True,
        "fields": META_FIELDS + ["involvedObject.kind", "involvedObject.namespace",
                                 "involvedObject.name", "involvedObject.uid",
                                 "involvedObject.apiVersion",
                                 "involvedObject.resourceVersion",
                                 "involvedObject.fieldPath", "reason", "reportingComponent",
                                 "source", "type"],
        "columns": EVENT_COLUMNS,
    },
    {
        "gvk": ("apps", "v1", "Deployment"), "strategy": "deployments", "verbs": ALL_VERBS, "short": ["deploy"],
        "categories": ["all"], "generation": True,
        "subresources": [("scale", "autoscaling/v1/Scale", STATUS_VERBS),
                         ("status", "Deployment", STATUS_VERBS)],
        "fields": META_FIELDS,
        "columns": [NAME,
                    col("Ready", "string", "fn:deploy_ready",
                        "Number of the pod with ready state"),
                    col("Up-to-date", "integer", "int:status.updatedReplicas",
                        "Total number of non-terminated pods targeted by this deployment "
                        "that have the desired template spec."),
                    col("Available", "integer", "int:status.availableReplicas",
                        "Total number of available pods (ready for at least minReadySeconds) "
                        "targeted by this deployment."),
                    AGE, CONTAINERS, IMAGES, SELECTOR],
    },
    {
        "gvk": ("apps", "v1", "ReplicaSet"), "strategy": "replicasets", "verbs": ALL_VERBS, "short": ["rs"],
        "categories": ["all"], "generation": True,
        "subresources": [("scale", "autoscaling/v1/Scale", STATUS_VERBS),
                         ("status", "ReplicaSet", STATUS_VERBS)],
        "fields": META_FIELDS + ["status.replicas"],
        "columns": [NAME,
                    col("Desired", "integer", "int:spec.replicas",
                        "Number of desired pods."),
                    col("Current", "integer", "int:status.replicas",
                        "Number of actual replicas."),
                    col("Ready", "integer", "int:status.readyReplicas",
                        "The number of ready replicas for this replica set."),
                    AGE, CONTAINERS, IMAGES, SELECTOR],
    },
    {
        "gvk": ("apps", "v1", "StatefulSet"), "strategy": "statefulsets", "verbs": ALL_VERBS, "short": ["sts"],
        "categories": ["all"], "generation": True,
        "subresources": [("scale", "autoscaling/v1/Scale", STATUS_VERBS),
                         ("status", "StatefulSet", STATUS_VERBS)],
        "fields": META_FIELDS,
        "columns": [NAME,
                    col("Ready", "string", "fn:sts_ready",
                        "Number of the pod with ready state"),
                    AGE, CONTAINERS, IMAGES],
    },
    {
        "gvk": ("apps", "v1", "DaemonSet"), "strategy": "daemonsets", "verbs": ALL_VERBS, "short": ["ds"],
        "categories": ["all"], "generation": True,
        "subresources": [("status", "DaemonSet", STATUS_VERBS)],
        "fields": META_FIELDS,
        "columns": [NAME,
                    col("Desired", "integer", "int:status.desiredNumberScheduled",
                        "The total number of nodes that should be running the daemon pod."),
                    col("Current", "integer", "int:status.currentNumberScheduled",
                        "The number of nodes running at least one daemon pod."),
                    col("Ready", "integer", "int:status.numberReady",
                        "The number of nodes that should be running the daemon pod and have "
                        "one or more of the daemon pod running and ready."),
                    col("Up-to-date", "integer", "int:status.updatedNumberScheduled",
                        "The total number of nodes that are running updated daemon pod"),
                    col("Available", "integer", "int:status.numberAvailable",
                        "The number of nodes that should be running the daemon pod and have "
                        "one or more of the daemon pod running and available."),
                    col("Node Selector", "string", "fn:ds_node_selector",
                        "NodeSelector is a selector which must be true for the pod to fit "
                        "on a node."),
                    AGE, CONTAINERS, IMAGES, SELECTOR],
    },
    {
        "gvk": ("apps", "v1", "ControllerRevision"), "verbs": ALL_VERBS,
        "fields": META_FIELDS,
        "columns": [NAME,
                    col("Controller", "string", "fn:revision_controller",
                        "Controller of the object."),
                    col("Revision", "integer", "int:revision",
                        "Revision indicates the revision of the state represented by Data."),
                    AGE],
    },
    {
        "gvk": ("batch", "v1", "Job"), "strategy": "jobs", "verbs": ALL_VERBS, "categories": ["all"],
        "generation": True,
        "subresources": [("status", "Job", STATUS_VERBS)],
        "fields": META_FIELDS + ["status.successful"],
        "columns": [NAME,
                    col("Status", "string", "fn:job_status", "Status of the job."),
                    col("Completions", "string", "fn:job_completions",
                        "The completion status of the job."),
                    col("Duration", "string", "fn:job_duration",
                        "Time required to complete the job."),
                    AGE, CONTAINERS, IMAGES, SELECTOR],
    },
    {
        "gvk": ("batch", "v1", "CronJob"), "strategy": "cronjobs", "verbs": ALL_VERBS, "short": ["cj"],
        "categories": ["all"], "generation": True,
        "subresources": [("status", "CronJob", STATUS_VERBS)],
        "fields": META_FIELDS,
        "columns": [NAME,
                    col("Schedule", "string", "str:spec.schedule",
                        "The schedule in Cron format."),
                    col("Timezone", "string", "str:spec.timeZone",
                        "The time zone name for the given schedule."),
                    col("Suspend", "boolean", "fn:cronjob_suspend",
                        "This flag tells the controller to suspend subsequent executions."),
                    col("Active", "integer", "fn:cronjob_active",
                        "A list of pointers to currently running jobs."),
                    col("Last Schedule", "string", "fn:cronjob_last_schedule",
                        "Information when was the last time the job was successfully "
                        "scheduled."),
                    AGE,
                    col("Containers", "string", "fn:cronjob_containers",
                        "Names of each container in the template.", 1),
                    col("Images", "string", "fn:cronjob_images",
                        "Images referenced by each container in the template.", 1),
                    col("Selector", "string", "fn:cronjob_selector",
                        "Label selector for pods.", 1)],
    },
    {
        "gvk": ("autoscaling", "v2", "HorizontalPodAutoscaler"), "strategy": "hpas", "verbs": ALL_VERBS,
        "short": ["hpa"], "categories": ["all"], "generation": True,
        "subresources": [("status", "HorizontalPodAutoscaler", STATUS_VERBS)],
        "fields": META_FIELDS,
        "columns": HPA_COLUMNS,
    },
    {
        "gvk": ("autoscaling", "v1", "HorizontalPodAutoscaler"), "strategy": "hpas", "verbs": ALL_VERBS,
        # served from the v2 objects, converted both ways (kubectl autoscale posts v1)
        "storage": ("autoscaling", "v2", "HorizontalPodAutoscaler"), "convert": "hpa_v1",
        "short": ["hpa"], "categories": ["all"], "generation": True,
        "subresources": [("status", "HorizontalPodAutoscaler", STATUS_VERBS)],
        "fields": META_FIELDS,
        "columns": HPA_COLUMNS,
    },
    {
        "gvk": ("certificates.k8s.io", "v1", "CertificateSigningRequest"), "strategy": "csrs",
        "verbs": ALL_VERBS, "short": ["csr"],
        "subresources": [("approval", "CertificateSigningRequest", STATUS_VERBS),
                         ("status", "CertificateSigningRequest", STATUS_VERBS)],
        "fields": META_FIELDS + ["spec.signerName"],
        "columns": [NAME, AGE,
                    col("SignerName", "string", "str:spec.signerName",
                        "Requested signer for the request."),
                    col("Requestor", "string", "str:spec.username",
                        "Information about the requesting user."),
                    col("RequestedDuration", "string", "fn:csr_duration",
                        "The requested duration of validity of the issued certificate."),
                    col("Condition", "string", "fn:csr_condition",
                        "Conditions applied to the request: Approved, Denied, Failed.")],
    },
    {
        "gvk": ("coordination.k8s.io", "v1", "Lease"), "verbs": ALL_VERBS,
        "create_on_update": True, "fields": META_FIELDS,
        "columns": [NAME,
                    col("Holder", "string", "str:spec.holderIdentity",
                        "The holder of the lease."),
                    AGE],
    },
    {
        "gvk": ("networking.k8s.io", "v1", "Ingress"), "strategy": "ingresses", "verbs": ALL_VERBS, "short": ["ing"],
        "generation": True,
        "subresources": [("status", "Ingress", STATUS_VERBS)],
        "fields": META_FIELDS,
        "columns": [NAME,
                    col("Class", "string", "fn:ingress_class",
                        "The name of the IngressClass resource."),
                    col("Hosts", "string", "fn:ingress_hosts", "Hosts that incoming requests "
                        "are matched against."),
                    col("Address", "string", "fn:ingress_address",
                        "Address is a list containing ingress points for the load-balancer"),
                    col("Ports", "string", "fn:ingress_ports",
                        "Ports of TLS configurations that open"),
                    AGE],
    },
    {
        "gvk": ("networking.k8s.io", "v1", "NetworkPolicy"), "strategy": "networkpolicies", "verbs": ALL_VERBS,
        "short": ["netpol"], "generation": True, "fields": META_FIELDS,
        "columns": [NAME,
                    col("Pod-Selector", "string", "fn:netpol_selector",
                        "Selects the pods to which this NetworkPolicy object applies."),
                    AGE],
    },
    {
        "gvk": ("policy", "v1", "PodDisruptionBudget"), "strategy": "pdbs", "verbs": ALL_VERBS, "short": ["pdb"],
        "generation": True,
        "subresources": [("status", "PodDisruptionBudget", STATUS_VERBS)],
        "fields": META_FIELDS,
        "columns": [NAME,
                    col("Min Available", "string", "fn:pdb_min_available",
                        "The minimum number of pods that must be available simultaneously"),
                    col("Max Unavailable", "string", "fn:pdb_max_unavailable",
                        "The maximum number of pods that may be unavailable simultaneously"),
                    col("Allowed Disruptions", "integer", "int:status.disruptionsAllowed",
                        "Calculated number of pods that may be disrupted at this time"),
                    AGE],
    },
    {
        "gvk": ("rbac.authorization.k8s.io", "v1", "ClusterRole"), "strategy": "rbac", "verbs": ALL_VERBS,
        "fields": META_FIELDS, "columns": [NAME, CREATED_AT],
    },
    {
        "gvk": ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding"), "strategy": "rbac_bindings", "verbs": ALL_VERBS,
        "fields": META_FIELDS,
        "columns": [NAME,
                    col("Role", "string", "fn:binding_role", "RoleRef to the role"),
                    AGE,
                    col("Users", "string", "fn:binding_users", "Users in the binding", 1),
                    col("Groups", "string", "fn:binding_groups", "Groups in the binding", 1),
                    col("ServiceAccounts", "string", "fn:binding_sas",
                        "ServiceAccounts in the binding", 1)],
    },
    {
        "gvk": ("rbac.authorization.k8s.io", "v1", "Role"), "strategy": "rbac", "verbs": ALL_VERBS,
        "fields": META_FIELDS, "columns": [NAME, CREATED_AT],
    },
    {
        "gvk": ("rbac.authorization.k8s.io", "v1", "RoleBinding"), "strategy": "rbac_bindings", "verbs": ALL_VERBS,
        "fields": META_FIELDS,
        "columns": [NAME,
                    col("Role", "string", "fn:binding_role", "RoleRef to the role"),
                    AGE,
                    col("Users", "string", "fn:binding_users", "Users in the binding", 1),
                    col("Groups", "string", "fn:binding_groups", "Groups in the binding", 1),
                    col("ServiceAccounts", "string", "fn:binding_sas",
                        "ServiceAccounts in the binding", 1)],
    },
    {
        "gvk": ("", "v1", "ResourceQuota"), "strategy": "resourcequotas", "verbs": ALL_VERBS, "short": ["quota"],
        "subresources": [("status", "ResourceQuota", STATUS_VERBS)],
        "fields": META_FIELDS,
        "columns": [NAME, AGE,
                    col("Request", "string", "fn:quota_request",
                        "Request represents a minimum amount of cpu/memory that a container "
                        "may consume."),
                    col("Limit", "string", "fn:quota_limit",
                        "Limits control the maximum amount of cpu/memory that a container "
                        "may use independent of contention on the node.")],
    },
    {
        "gvk": ("", "v1", "PersistentVolumeClaim"), "strategy": "pvcs", "verbs": ALL_VERBS, "short": ["pvc"],
        "subresources": [("status", "PersistentVolumeClaim", STATUS_VERBS)],
        "fields": META_FIELDS,
        "columns": [NAME,
                    col("Status", "string", "str:status.phase",
                        "The status of the claim."),
                    col("Volume", "string", "fn:pvc_volume",
                        "The binding reference to the PersistentVolume backing this claim."),
                    col("Capacity", "string", "fn:pvc_capacity",
                        "The actual resources of the underlying volume."),
                    col("Access Modes", "string", "fn:pvc_access_modes",
                        "The actual access modes the volume backing the PVC has."),
                    col("StorageClass", "string", "fn:pvc_storage_class",
                        "The name of the StorageClass required by the claim."),
                    col("VolumeAttributesClass", "string",
                        "fn:pvc_volume_attributes_class",
                        "The VolumeAttributesClass the claim uses."),
                    AGE,
                    col("VolumeMode", "string", "fn:pvc_volume_mode",
                        "What type of volume is required by the claim.", 1)],
    },
    # ---- priority-limits ----
    {
        # pkg/registry/scheduling/priorityclass/storage/storage.go: ShortNames "pc"
        "gvk": ("scheduling.k8s.io", "v1", "PriorityClass"), "strategy": "priorityclasses",
        "verbs": ALL_VERBS, "short": ["pc"], "fields": META_FIELDS,
        "columns": [NAME,
                    col("Value", "integer", "int:value",
                        "value represents the integer value of this priority class. This is "
                        "the actual priority that pods receive when they have the name of "
                        "this class in their pod spec."),
                    col("Global-Default", "boolean", "bool:globalDefault",
                        "globalDefault specifies whether this PriorityClass should be "
                        "considered as the default priority for pods that do not have any "
                        "priority class."),
                    AGE,
                    col("PreemptionPolicy", "string", "str:preemptionPolicy",
                        "preemptionPolicy is the Policy for preempting pods with lower "
                        "priority. One of Never, PreemptLowerPriority.")],
    },
    {
        # pkg/registry/core/limitrange/storage/storage.go: ShortNames "limits"; no printer
        # in printers.go: the default table (Name, Created At)
        "gvk": ("", "v1", "LimitRange"), "strategy": "limitranges", "verbs": ALL_VERBS,
        "short": ["limits"], "fields": META_FIELDS, "columns": [NAME, CREATED_AT],
    },
    # ---- crds ----
    {
        # apiextensions-apiserver pkg/registry/customresourcedefinition/etcd.go: ShortNames
        # "crd", "crds", Categories "api-extensions"; no printer: the default table (Name,
        # Created At). The strategy (crd.c) bumps generation on spec changes.
        "gvk": ("apiextensions.k8s.io", "v1", "CustomResourceDefinition"), "strategy": "crds",
        "verbs": ALL_VERBS, "short": ["crd", "crds"], "categories": ["api-extensions"],
        "generation": True,
        "subresources": [("status", "CustomResourceDefinition", STATUS_VERBS)],
        "fields": META_FIELDS, "columns": [NAME, CREATED_AT],
    },
]

# ---- kinds-core ----
# Columns: pkg/printers/internalversion/printers.go (AddHandlers) of 1.32; short names and
# categories: each pkg/registry/<group>/<resource>/storage/storage.go.
RESOURCES += [
    {
        "gvk": ("", "v1", "PersistentVolume"), "strategy": "pvs", "verbs": ALL_VERBS, "short": ["pv"],
        "subresources": [("status", "PersistentVolume", STATUS_VERBS)],
        "fields": META_FIELDS,
        "columns": [NAME,
                    col("Capacity", "string", "fn:pv_capacity",
                        "capacity is the description of the persistent volume's resources "
                        "and capacity."),
                    col("Access Modes", "string", "fn:pv_access_modes",
                        "accessModes contains all ways the volume can be mounted."),
                    col("Reclaim Policy", "string", "fn:pv_reclaim_policy",
                        "persistentVolumeReclaimPolicy defines what happens to a persistent "
                        "volume when released from its claim."),
                    col("Status", "string", "fn:pv_status",
                        "phase indicates if a volume is available, bound to a claim, or "
                        "released by a claim."),
                    col("Claim", "string", "fn:pv_claim",
                        "claimRef is part of a bi-directional binding between "
                        "PersistentVolume and PersistentVolumeClaim."),
                    col("StorageClass", "string", "fn:pv_storage_class",
                        "StorageClass of the pv"),
                    col("VolumeAttributesClass", "string", "fn:pvc_volume_attributes_class",
                        "VolumeAttributesClass of the pv"),
                    col("Reason", "string", "fn:pv_reason",
                        "reason is a brief CamelCase string that describes any failure and "
                        "is meant for machine parsing and tidy display in the CLI."),
                    AGE,
                    col("VolumeMode", "string", "fn:pvc_volume_mode",
                        "volumeMode defines if a volume is intended to be used with a "
                        "formatted filesystem or to remain in raw block state.", 1)],
    },
    {
        "gvk": ("", "v1", "PodTemplate"), "strategy": "podtemplates", "verbs": ALL_VERBS,
        "generation": True, "fields": META_FIELDS,
        "columns": [NAME,
                    col("Containers", "string", "fn:podtemplate_containers",
                        "Names of each container in the template."),
                    col("Images", "string", "fn:podtemplate_images",
                        "Images referenced by each container in the template."),
                    col("Pod Labels", "string", "fn:podtemplate_labels",
                        "The labels for the pod template.")],
    },
    {
        "gvk": ("", "v1", "ReplicationController"), "strategy": "rcs", "verbs": ALL_VERBS,
        "short": ["rc"], "categories": ["all"], "generation": True,
        "subresources": [("scale", "autoscaling/v1/Scale", STATUS_VERBS),
                         ("status", "ReplicationController", STATUS_VERBS)],
        "fields": META_FIELDS + ["status.replicas"],
        "columns": [NAME,
                    col("Desired", "integer", "int:spec.replicas",
                        "Replicas is the number of desired replicas."),
                    col("Current", "integer", "int:status.replicas",
                        "Replicas is the most recently observed number of replicas."),
                    col("Ready", "integer", "int:status.readyReplicas",
                        "The number of ready replicas for this replication controller."),
                    AGE, CONTAINERS, IMAGES,
                    col("Selector", "string", "fn:rc_selector",
                        "Selector is a label query over pods that should match the Replicas "
                        "count.", 1)],
    },
    {
        # computed on each read (strategy/componentstatus.c), never written by a client
        "gvk": ("", "v1", "ComponentStatus"), "strategy": "componentstatuses",
        "verbs": ["get", "list"], "short": ["cs"], "fields": META_FIELDS,
        "columns": [NAME,
                    col("Status", "string", "fn:cs_status",
                        "Status of the component conditions"),
                    col("Message", "string", "fn:cs_message",
                        "Message of the component conditions"),
                    col("Error", "string", "fn:cs_error",
                        "Error of the component conditions")],
    },
    {
        "gvk": ("storage.k8s.io", "v1", "StorageClass"), "strategy": "storageclasses",
        "verbs": ALL_VERBS, "short": ["sc"], "fields": META_FIELDS,
        "columns": [col("Name", "string", "fn:sc_name", NAME_DESC, fmt="name"),
                    col("Provisioner", "string", "str:provisioner",
                        "provisioner indicates the type of the provisioner."),
                    col("ReclaimPolicy", "string", "fn:sc_reclaim_policy",
                        "reclaimPolicy controls the reclaimPolicy for dynamically "
                        "provisioned PersistentVolumes of this storage class. Defaults to "
                        "Delete."),
                    col("VolumeBindingMode", "string", "fn:sc_binding_mode",
                        "volumeBindingMode indicates how PersistentVolumeClaims should be "
                        "provisioned and bound.  When unset, VolumeBindingImmediate is "
                        "used."),
                    col("AllowVolumeExpansion", "string", "fn:sc_allow_expansion",
                        "allowVolumeExpansion shows whether the storage class allow volume "
                        "expand."),
                    AGE],
    },
    {
        "gvk": ("storage.k8s.io", "v1", "CSIDriver"), "strategy": "csidrivers",
        "verbs": ALL_VERBS, "fields": META_FIELDS,
        "columns": [NAME,
                    col("AttachRequired", "boolean", "fn:csi_attach_required",
                        "attachRequired indicates this CSI volume driver requires an attach "
                        "operation."),
                    col("PodInfoOnMount", "boolean", "fn:csi_pod_info",
                        "podInfoOnMount indicates this CSI volume driver requires additional "
                        "pod information (like podName, podUID, etc.) during mount "
                        "operations."),
                    col("StorageCapacity", "boolean", "fn:csi_storage_capacity",
                        "storageCapacity indicates that the CSI volume driver wants pod "
                        "scheduling to consider the storage capacity that the driver "
                        "deployment will report."),
                    col("TokenRequests", "string", "fn:csi_token_requests",
                        "tokenRequests indicates the CSI driver needs pods' service account "
                        "tokens it is mounting volume for to do necessary authentication."),
                    col("RequiresRepublish", "boolean", "fn:csi_republish",
                        "requiresRepublish indicates the CSI driver wants `NodePublishVolume` "
                        "being periodically called to reflect any possible change in the "
                        "mounted volume."),
                    col("Modes", "string", "fn:csi_modes",
                        "volumeLifecycleModes defines what kind of volumes this CSI volume "
                        "driver supports."),
                    AGE],
    },
    {
        "gvk": ("storage.k8s.io", "v1", "CSINode"), "strategy": "csinodes", "verbs": ALL_VERBS,
        "fields": META_FIELDS,
        "columns": [NAME,
                    col("Drivers", "integer", "fn:csinode_drivers",
                        "drivers is a list of information of all CSI Drivers existing on a "
                        "node."),
                    AGE],
    },
    {
        "gvk": ("storage.k8s.io", "v1", "CSIStorageCapacity"), "strategy": "csicapacities",
        "verbs": ALL_VERBS, "fields": META_FIELDS,
        "columns": [NAME,
                    col("StorageClassName", "string", "fn:csicap_class",
                        "storageClassName represents the name of the StorageClass that the "
                        "reported capacity applies to."),
                    col("Capacity", "string", "fn:csicap_capacity",
                        "capacity is the value reported by the CSI driver in its "
                        "GetCapacityResponse for a GetCapacityRequest with topology and "
                        "parameters that match the previous fields.")],
    },
    {
        "gvk": ("storage.k8s.io", "v1", "VolumeAttachment"), "strategy": "volumeattachments",
        "verbs": ALL_VERBS,
        "subresources": [("status", "VolumeAttachment", STATUS_VERBS)],
        "fields": META_FIELDS,
        "columns": [NAME,
                    col("Attacher", "string", "fn:va_attacher",
                        "attacher indicates the name of the volume driver that MUST handle "
                        "this request."),
                    col("PV", "string", "fn:va_pv",
                        "persistentVolumeName represents the name of the persistent volume "
                        "to attach."),
                    col("Node", "string", "fn:va_node",
                        "nodeName represents the node that the volume should be attached "
                        "to."),
                    col("Attached", "boolean", "fn:va_attached",
                        "attached indicates the volume is successfully attached."),
                    AGE],
    },
    {
        "gvk": ("networking.k8s.io", "v1", "IngressClass"), "strategy": "ingressclasses",
        "verbs": ALL_VERBS, "generation": True, "fields": META_FIELDS,
        "columns": [NAME,
                    col("Controller", "string", "fn:ingressclass_controller",
                        "Controller that is responsible for handling this class"),
                    col("Parameters", "string", "fn:ingressclass_parameters",
                        "A reference to a resource with additional parameters"),
                    AGE],
    },
    {
        "gvk": ("node.k8s.io", "v1", "RuntimeClass"), "strategy": "runtimeclasses",
        "verbs": ALL_VERBS, "fields": META_FIELDS,
        "columns": [NAME,
                    col("Handler", "string", "fn:runtimeclass_handler",
                        "handler specifies the underlying runtime and configuration that the "
                        "CRI implementation will use to handle pods of this class."),
                    AGE],
    },
]

# ---- kinds-admin ----
RESOURCES += [
    # admissionregistration.k8s.io/v1 (pkg/registry/admissionregistration/*/storage/storage.go:
    # Categories() "api-extensions", no short names; columns: printers.go
    # printMutatingWebhook, printValidatingWebhook, printValidatingAdmissionPolicy[Binding])
    {
        "gvk": ("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration"),
        "strategy": "mutatingwebhooks", "verbs": ALL_VERBS, "categories": ["api-extensions"],
        "generation": True, "fields": META_FIELDS,
        "columns": WEBHOOK_COLUMNS,
    },
    {
        "gvk": ("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicy"),
        "strategy": "admissionpolicies", "verbs": ALL_VERBS, "categories": ["api-extensions"],
        "generation": True,
        "subresources": [("status", "ValidatingAdmissionPolicy", STATUS_VERBS)],
        "fields": META_FIELDS,
        "columns": [NAME,
                    col("Validations", "integer", "fn:vap_validations",
                        "Validations indicates the number of validation rules defined in "
                        "this configuration"),
                    col("ParamKind", "string", "fn:vap_param_kind",
                        "ParamKind specifies the kind of resources used to parameterize "
                        "this policy"),
                    AGE],
    },
    {
        "gvk": ("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicyBinding"),
        "strategy": "policybindings", "verbs": ALL_VERBS, "categories": ["api-extensions"],
        "generation": True, "fields": META_FIELDS,
        "columns": [NAME,
                    col("PolicyName", "string", "str:spec.policyName",
                        "PolicyName indicates the policy definition which the policy "
                        "binding binded to"),
                    col("ParamRef", "string", "fn:vapb_param_ref",
                        "ParamRef indicates the param resource which sets the configration "
                        "param"),
                    AGE],
    },
    {
        "gvk": ("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration"),
        "strategy": "validatingwebhooks", "verbs": ALL_VERBS, "categories": ["api-extensions"],
        "generation": True, "fields": META_FIELDS,
        "columns": WEBHOOK_COLUMNS,
    },
    # events.k8s.io/v1: the core Events' storage (pkg/registry/core/event/storage: ShortNames
    # "ev"), converted as pkg/apis/events/v1/conversion.go converts; no field label
    # conversions of its own, so only the metadata fields select
    {
        "gvk": ("events.k8s.io", "v1", "Event"), "strategy": "events", "verbs": ALL_VERBS,
        "storage": ("", "v1", "Event"), "convert": "event_v1",
        "short": ["ev"], "create_on_update": True, "fields": META_FIELDS,
        "columns": EVENT_COLUMNS,
    },
    # flowcontrol.apiserver.k8s.io/v1 (printers.go printFlowSchema,
    # printPriorityLevelConfiguration; no short names or categories)
    {
        "gvk": ("flowcontrol.apiserver.k8s.io", "v1", "FlowSchema"), "strategy": "flowschemas",
        "verbs": ALL_VERBS, "generation": True,
        # printFlowSchemaList sorts (FlowSchemaSequence: matchingPrecedence, then name)
        "table_order": "matching_precedence",
        "subresources": [("status", "FlowSchema", STATUS_VERBS)],
        "fields": META_FIELDS,
        "columns": [NAME,
                    col("PriorityLevel", "string", "str:spec.priorityLevelConfiguration.name",
                        "`name` is the name of the priority level configuration being "
                        "referenced Required."),
                    col("MatchingPrecedence", "string", "int:spec.matchingPrecedence",
                        "`matchingPrecedence` is used to choose among the FlowSchemas that "
                        "match a given request. The chosen FlowSchema is among those with "
                        "the numerically lowest (which we take to be logically highest) "
                        "MatchingPrecedence."),
                    col("DistinguisherMethod", "string", "fn:fs_distinguisher",
                        "`distinguisherMethod` defines how to compute the flow distinguisher "
                        "for requests that match this schema. `nil` specifies that the "
                        "distinguisher is disabled and thus will always be the empty "
                        "string."),
                    AGE,
                    col("MissingPL", "string", "fn:fs_missing_pl",
                        "indicates if the priority level is missing")],
    },
    {
        "gvk": ("flowcontrol.apiserver.k8s.io", "v1", "PriorityLevelConfiguration"),
        "strategy": "prioritylevels", "verbs": ALL_VERBS, "generation": True,
        "subresources": [("status", "PriorityLevelConfiguration", STATUS_VERBS)],
        "fields": META_FIELDS,
        "columns": [NAME,
                    col("Type", "string", "str:spec.type",
                        "`type` indicates whether this priority level is subject to "
                        "limitation on request execution.  A value of `\"Exempt\"` means "
                        "that requests of this priority level are not subject to a limit "
                        "(and thus are never queued) and do not detract from the capacity "
                        "made available to other priority levels.  A value of "
                        "`\"Limited\"` means that (a) requests of this priority level _are_ "
                        "subject to limits and (b) some of the server's limited capacity is "
                        "made available exclusively to this priority level. Required."),
                    col("NominalConcurrencyShares", "string", "fn:plc_shares",
                        "`nominalConcurrencyShares` (NCS) contributes to the computation of "
                        "the NominalConcurrencyLimit (NominalCL) of this level."),
                    col("Queues", "string", "fn:plc_queues",
                        "`queues` is the number of queues for this priority level. The "
                        "queues exist independently at each apiserver. The value must be "
                        "positive.  Setting it to 1 effectively precludes shufflesharding "
                        "and thus makes the distinguisher method of associated flow schemas "
                        "irrelevant.  This field has a default value of 64."),
                    col("HandSize", "string", "fn:plc_hand_size",
                        "`handSize` is a small positive number that configures the "
                        "shuffle sharding of requests into queues.  When enqueuing a "
                        "request at this priority level the request's flow identifier (a "
                        "string pair) is hashed and the hash value is used to shuffle the "
                        "list of queues and deal a hand of the size specified here."),
                    col("QueueLengthLimit", "string", "fn:plc_queue_length_limit",
                        "`queueLengthLimit` is the maximum number of requests allowed to be "
                        "waiting in a given queue of this priority level at a time; excess "
                        "requests are rejected.  This value must be positive.  If not "
                        "specified, it will be defaulted to 50."),
                    AGE],
    },
    # apiregistration.k8s.io/v1 (kube-aggregator pkg/registry/apiservice/etcd/etcd.go:
    # Categories() "api-extensions", its own ConvertToTable: Name, Service, Available, Age)
    {
        "gvk": ("apiregistration.k8s.io", "v1", "APIService"), "strategy": "apiservices",
        "verbs": ALL_VERBS, "categories": ["api-extensions"],
        "subresources": [("status", "APIService", STATUS_VERBS)],
        "fields": META_FIELDS,
        "columns": [NAME,
                    col("Service", "string", "fn:apiservice_service",
                        "The reference to the service that hosts this API endpoint."),
                    col("Available", "string", "fn:apiservice_available",
                        "Whether this service is available."),
                    AGE],
    },
    # ---- rbac ----
    # authorization.k8s.io/v1 and authentication.k8s.io/v1 SelfSubjectReview: created and
    # answered, never stored (pkg/registry/authorization/*/rest.go: Create only)
    {
        "gvk": ("authorization.k8s.io", "v1", "SelfSubjectAccessReview"), "verbs": ["create"],
        "columns": [],
    },
    {
        "gvk": ("authorization.k8s.io", "v1", "SubjectAccessReview"), "verbs": ["create"],
        "columns": [],
    },
    {
        "gvk": ("authorization.k8s.io", "v1", "LocalSubjectAccessReview"), "verbs": ["create"],
        "columns": [],
    },
    {
        "gvk": ("authorization.k8s.io", "v1", "SelfSubjectRulesReview"), "verbs": ["create"],
        "columns": [],
    },
    {
        "gvk": ("authentication.k8s.io", "v1", "SelfSubjectReview"), "verbs": ["create"],
        "columns": [],
    },
    # TokenReview: a bearer token authenticated and answered, never stored
    # (pkg/registry/authentication/tokenreview/storage.go)
    {
        "gvk": ("authentication.k8s.io", "v1", "TokenReview"), "verbs": ["create"],
        "columns": [],
    },
]
