#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""k8sgen: write drover's Kubernetes schema tables from types.json.

Reads the Kubernetes API facts (shared/reference/k8s-api/types.json, extracted from k8s.io/api,
k8s.io/apimachinery, k8s.io/apiextensions-apiserver and k8s.io/kube-aggregator) and writes
userspace/lib/k8s/k8s_schema_gen.{c,h}: every type, every field with its JSON/Go/protobuf
facts, the enums, and the kinds table (with plurals and List kinds). With --api-out it also
writes the API server's resource table (control/api/api_resources_gen.c) from those kinds and
the API server facts of apifacts.py (short names, categories, verbs, subresources, field
selectors, Table columns). The output is checked in, so building drover never needs python or
types.json.

types.json has extraction defects; each is repaired below in repair_*() with a comment saying
what was wrong and why the repair is right. After the repairs, check_refs() fails the run if
any reference is still unresolved, so a new defect cannot slip into the tables silently.

Usage: k8sgen.py --types types.json --out userspace/lib/k8s [--api-out control/api] [--check]
  --check  write nothing; exit 1 if the checked-in files differ from what would be written.
Standard library only.
"""

import argparse
import json
import os
import re
import sys

META = "io.k8s.apimachinery.pkg.apis.meta.v1"
CORE = "io.k8s.api.core.v1"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
INTORSTR = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
RAWEXT = "io.k8s.apimachinery.pkg.runtime.RawExtension"
UNKNOWN = "io.k8s.apimachinery.pkg.runtime.Unknown"
RT_TYPEMETA = "io.k8s.apimachinery.pkg.runtime.TypeMeta"
UID = "io.k8s.apimachinery.pkg.types.UID"
APIEXT = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1"

# Value kind of each special type (types with their own JSON and protobuf forms).
SPECIAL_VKIND = {
    QUANTITY: "K8S_V_QUANTITY",
    INTORSTR: "K8S_V_INT_OR_STRING",
    META + ".Time": "K8S_V_TIME",
    META + ".MicroTime": "K8S_V_MICROTIME",
    META + ".Duration": "K8S_V_DURATION",
    RAWEXT: "K8S_V_RAW_EXTENSION",
    META + ".FieldsV1": "K8S_V_FIELDS_V1",
    APIEXT + ".JSON": "K8S_V_JSON",
    APIEXT + ".JSONSchemaPropsOrArray": "K8S_V_SCHEMA_OR_ARRAY",
    APIEXT + ".JSONSchemaPropsOrBool": "K8S_V_SCHEMA_OR_BOOL",
    APIEXT + ".JSONSchemaPropsOrStringArray": "K8S_V_SCHEMA_OR_STRINGS",
}

SCALAR_VKIND = {
    "string": "K8S_V_STRING",
    "int32": "K8S_V_INT32",
    "int64": "K8S_V_INT64",
    "bool": "K8S_V_BOOL",
    "float64": "K8S_V_FLOAT64",
    "bytes": "K8S_V_BYTES",
}

# Go constants named by `default: ref(Name)` (the +default=ref(...) marker). Their values are
# not in types.json; they come from k8s.io/api/core/v1/types.go. Each is checked against the
# enum of the field it defaults.
DEFAULT_CONSTANTS = {
    "AzureDataDiskCachingReadWrite": "ReadWrite",
    "AzureSharedBlobDisk": "Shared",
}

# Enums whose values Kubernetes' validation does not restrict: their constants are the
# well-known values, not a closed set (pkg/apis/core/validation accepts any condition type,
# any qualified resource name, custom secret types, custom namespace finalizers, HugePages-
# <size> media...). Every enum whose name ends in "ConditionType" is open too.
OPEN_ENUMS = {
    CORE + ".ResourceName", CORE + ".SecretType", CORE + ".FinalizerName",
    CORE + ".StorageMedium", CORE + ".Signal", CORE + ".ResourceHealthStatus",
    CORE + ".ClaimResourceStatus", CORE + ".NodeAddressType",
    CORE + ".LimitType",  # validateLimitRangeTypeName: standard or fully qualified
    META + ".StatusReason", META + ".CauseType",
}


def enum_open(name):
    return name in OPEN_ENUMS or name.endswith("ConditionType")


# Kinds that Kubernetes registers besides those of types.json `kinds` (which has Binding and
# TokenRequest, the bodies of pods/binding and serviceaccounts/token). Source:
# apimachinery/pkg/apis/meta/v1/register.go (AddToGroupVersion adds WatchEvent and the option
# kinds to every group version; Status and the discovery kinds are "unversioned", i.e.
# registered as v1), k8s.io/api/core/v1/register.go (core's non-resource kinds and `List`),
# and the register.go of autoscaling/v1 (Scale), admission/v1 (AdmissionReview, the body of
# admission webhook calls) and apiextensions/v1 (ConversionReview, the body of conversion
# webhook calls). Only kinds whose type exists in types.json are emitted.
PER_GROUP_VERSION_KINDS = ["WatchEvent", "ListOptions", "GetOptions", "DeleteOptions",
                           "CreateOptions", "UpdateOptions", "PatchOptions"]
UNVERSIONED_KINDS = ["Status", "APIVersions", "APIGroupList", "APIGroup", "APIResourceList"]
CORE_EXTRA_KINDS = {
    # kind: (type, plural resource or None when the kind is not a served resource)
    "PodLogOptions": (CORE + ".PodLogOptions", None),
    "PodAttachOptions": (CORE + ".PodAttachOptions", None),
    "PodExecOptions": (CORE + ".PodExecOptions", None),
    "PodPortForwardOptions": (CORE + ".PodPortForwardOptions", None),
    "PodProxyOptions": (CORE + ".PodProxyOptions", None),
    "NodeProxyOptions": (CORE + ".NodeProxyOptions", None),
    "ServiceProxyOptions": (CORE + ".ServiceProxyOptions", None),
    "SerializedReference": (CORE + ".SerializedReference", None),
    "RangeAllocation": (CORE + ".RangeAllocation", None),
    "PodStatusResult": (CORE + ".PodStatusResult", None),
    "EphemeralContainers": (CORE + ".EphemeralContainers", None),
    "List": (META + ".List", None),
}
GROUP_EXTRA_KINDS = {"Scale": "io.k8s.api.autoscaling.v1.Scale",
                     "AdmissionReview": "io.k8s.api.admission.v1.AdmissionReview",
                     "ConversionReview": APIEXT + ".ConversionReview"}

# Plurals Kubernetes does not derive by rule (k8s.io/apimachinery meta.UnsafeGuessKindToResource
# keeps "endpoints" as is; the rest of the rule is in plural()).
IRREGULAR_PLURALS = {
    "Endpoints": "endpoints",
}


def die(msg):
    sys.stderr.write("k8sgen: " + msg + "\n")
    sys.exit(1)


def pkg_of(name):
    return name.rsplit(".", 1)[0]


def short_of(name):
    return name.rsplit(".", 1)[1]


# ---------------------------------------------------------------------------------------------
# Repairs of the extraction defects of types.json. Each function mutates `data` and appends a
# line per repaired field to `notes` (printed with --verbose, summarised in the generated file).
# ---------------------------------------------------------------------------------------------

def known(data, ref):
    return (ref in data["types"] or ref in data["aliases"] or ref in data["special"]
            or ref in data["enums"])


def each_field(data):
    for tname, t in data["types"].items():
        for f in t["fields"]:
            yield tname, t, f


def each_ref(ty):
    """Yield every {"kind": "ref"} dict inside a field type (arrays and maps included)."""
    if ty.get("kind") == "ref":
        yield ty
    for k in ("items", "values"):
        if isinstance(ty.get(k), dict):
            yield from each_ref(ty[k])


def repair_truncated_embedded(data, notes):
    # Defect: for Go-embedded structs the extractor split "pkg.TypeName" one character too
    # late: the Go name lost its last character and the ref became the package plus that
    # character, e.g. {"go": "LocalObjectReferenc", "ref": "io.k8s.api.core.v1.e"}. The
    # missing character is the ref's last one, so the Go name is go+char and the type is
    # that name in the field's own package, or in meta/v1 (TypeMeta, ObjectMeta, ListMeta
    # embedded in meta/v1 types). Seen: LocalObjectReference, VolumeSource,
    # PersistentVolumeSource, ProbeHandler, EphemeralContainerCommon, IngressRuleValue,
    # TypeMeta, ListMeta, ObjectMeta.
    for tname, _, f in each_field(data):
        ty = f["type"]
        if ty.get("kind") != "ref" or known(data, ty["ref"]):
            continue
        m = re.match(r"^(io\.k8s\.[a-z0-9.]+)\.([A-Za-z])$", ty["ref"])
        if not m:
            continue
        go = f["go"] + m.group(2)
        for pkg in (pkg_of(tname), m.group(1), META):
            if pkg + "." + go in data["types"]:
                notes.append("%s.%s: truncated embedded %r -> %s.%s"
                             % (tname, f["json"] or "<inline>", f["go"], pkg, go))
                f["go"] = go
                ty["ref"] = pkg + "." + go
                break


def repair_lost_package(data, notes):
    # Defect: references to meta/v1 types from other packages lost their package, leaving
    # "io.k8s.api.core.v1..ObjectMeta" (two dots) and the Go name "metav1" (the package
    # qualifier of `metav1.ObjectMeta`, taken for the field name). The Go field of an
    # embedded `metav1.ObjectMeta` is named ObjectMeta, and the type is meta/v1's.
    for tname, _, f in each_field(data):
        for ty in each_ref(f["type"]):
            m = re.match(r"^io\.k8s\.[a-z0-9.]+\.\.([A-Za-z]+)$", ty["ref"])
            if not m:
                continue
            target = META + "." + m.group(1)
            notes.append("%s.%s: lost package %s -> %s"
                         % (tname, f["json"] or "<inline>", ty["ref"], target))
            ty["ref"] = target
            if f["go"] == "metav1":
                f["go"] = m.group(1)


def repair_package_qualifier(data, notes):
    # Defect: a reference to a type of another extracted package kept Go's package qualifier
    # instead of the package: admission/v1 AdmissionRequest.userInfo is
    # "authenticationv1.UserInfo" (from the import `authenticationv1 "k8s.io/api/
    # authentication/v1"`). Kubernetes names such imports by the package's directory without
    # its slash, so the qualifier finds the package in `packages`. A qualifier of a package
    # that was not extracted (schedulingv1alpha3) is left to repair_foreign_refs.
    quals = {p["dir"].replace("/", ""): name for name, p in data["packages"].items()}
    for tname, _, f in each_field(data):
        for ty in each_ref(f["type"]):
            m = re.match(r"^([a-z0-9]+)\.([A-Za-z]\w*)$", ty["ref"])
            if not m or m.group(1) not in quals:
                continue
            target = quals[m.group(1)] + "." + m.group(2)
            if not known(data, target):
                continue
            notes.append("%s.%s: package qualifier %s -> %s" % (tname, f["json"], ty["ref"],
                                                               target))
            ty["ref"] = target


def repair_special_wrappers(data, notes):
    # Defect: meta/v1 Time, MicroTime and Duration wrap Go's time.Time / time.Duration; the
    # extractor listed the embedded stdlib value as a field ({"go": "time", "json": ""}),
    # which has neither a JSON nor a protobuf meaning. Their real forms are given by
    # `special` (emitted as protobuf-only fields by special_pb_fields()), so the junk goes.
    for name in data["special"]:
        t = data["types"].get(name)
        if t and t["fields"]:
            notes.append("%s: dropped %d junk field(s) of the Go wrapper" % (name, len(t["fields"])))
            t["fields"] = []


def repair_resource_list(data, notes):
    # Defect: core/v1 ResourceList is `map[ResourceName]resource.Quantity`, a map type the
    # extractor did not emit; every ref to it becomes the map it is.
    for tname, _, f in each_field(data):
        ty = f["type"]
        if ty.get("kind") == "ref" and ty["ref"] == CORE + ".ResourceList":
            f["type"] = {"kind": "map", "key": CORE + ".ResourceName",
                         "values": {"kind": "ref", "ref": QUANTITY},
                         "named": CORE + ".ResourceList"}
            notes.append("%s.%s: ResourceList -> map[ResourceName]Quantity" % (tname, f["json"]))


def repair_foreign_refs(data, notes):
    # Defect: batch/v1 JobSchedulingConfiguration refers to scheduling/v1alpha3 types
    # ("schedulingv1alpha3.WorkloadPodGroupSchedulingPolicy" ...), a package that was not
    # extracted (an alpha API group drover does not serve). Their shape is unknown, so they
    # are typed as any JSON: accepted and kept, never validated.
    for tname, _, f in each_field(data):
        for ty in each_ref(f["type"]):
            if ty["ref"].startswith("schedulingv1alpha3."):
                notes.append("%s.%s: unknown %s -> any JSON" % (tname, f["json"], ty["ref"]))
                ty["any"] = True


def repair_inline(data, notes):
    # Defect: "inline" is false on every field, also on `json:",inline"` ones. A field whose
    # JSON name is "" is Go-embedded with its fields inline in JSON (TypeMeta's apiVersion and
    # kind; LocalObjectReference's name), whatever its protobuf form (some are nested messages
    # with a number, e.g. Volume.VolumeSource = 2).
    n = 0
    for _, _, f in each_field(data):
        if f["json"] == "" and not f["inline"]:
            f["inline"] = True
            n += 1
    if n:
        notes.append("%d field(s) with json \"\" marked inline" % n)


def repair_protobuf(data, notes):
    # Defect (of the Go tags themselves, faithfully extracted): some protobuf tags omit the
    # label ("bytes,1,name=ready" gives label "name=ready"), some say "opt" on slices or "rep"
    # on scalars, and some give "bytes" for a bool (discovery/v1 EndpointConditions). The
    # .proto files and generated code that Kubernetes actually speaks are derived by
    # go-to-protobuf from the Go types, not from these tags: a slice or map (also a named one)
    # is repeated, a scalar is optional unless tagged "req", bool and integers are varints,
    # float64 is a double (fixed64), everything else is length-delimited. The named string
    # slices that `special` wraps in a message (ExtraValue, Verbs) are that message. The
    # label and wire type here are derived the same way.
    for tname, _, f in each_field(data):
        pb = f.get("protobuf")
        if not pb:
            continue
        ty = f["type"]
        rep = ty["kind"] in ("array", "map") or alias_is_list(data, ty)
        label = "rep" if rep else ("req" if pb["label"] == "req" else "opt")
        elem = ty["items"] if ty["kind"] == "array" else ty
        scalar = elem["type"] if elem["kind"] == "scalar" and ty["kind"] != "map" else None
        wire = {"bool": "varint", "int32": "varint", "int64": "varint",
                "float64": "fixed64"}.get(scalar, "bytes")
        if label != pb["label"] or wire != pb["wire"]:
            notes.append("%s.%s: protobuf %s/%s -> %s/%s" % (tname, f["json"], pb["label"],
                                                            pb["wire"], label, wire))
        pb["tag_label"] = pb["label"]
        pb["label"] = label
        pb["wire"] = wire


def alias_is_list(data, ty):
    """A named slice or map: repeated in protobuf, except the wrapped slices (is_wrapper)."""
    if ty.get("kind") != "ref" or is_wrapper(data, ty["ref"]):
        return False
    return data["aliases"].get(ty["ref"], "").startswith(("[]", "map["))


def is_wrapper(data, name):
    """ExtraValue, meta/v1 Verbs: named string slices that are a JSON array but in protobuf a
    message { repeated string items = 1; } (`special` says so)."""
    return name in data["special"] and data["aliases"].get(name, "").startswith("[]")


def repair_defaults(data, notes):
    # Defect: defaults written as `ref(GoConstant)` name a Go constant instead of a value;
    # DEFAULT_CONSTANTS holds their values, checked against the field's enum.
    for tname, _, f in each_field(data):
        d = f.get("default")
        if d is None:
            continue
        m = re.match(r"^ref\((\w+)\)$", d)
        if m:
            if m.group(1) not in DEFAULT_CONSTANTS:
                die("%s.%s: default names unknown constant %s" % (tname, f["json"], d))
            val = DEFAULT_CONSTANTS[m.group(1)]
            ref = f["type"].get("ref")
            if ref not in data["enums"] or val not in data["enums"][ref]:
                die("%s.%s: default %s = %r is not in the enum %s" % (tname, f["json"], d,
                                                                       val, ref))
            f["default"] = json.dumps(val)
            notes.append("%s.%s: default %s -> %s" % (tname, f["json"], d, f["default"]))
        try:
            json.loads(f["default"])
        except ValueError:
            die("%s.%s: default %r is not JSON" % (tname, f["json"], f["default"]))


def check_refs(data):
    """Fail if any reference is still unresolved after the repairs."""
    bad = []
    for tname, _, f in each_field(data):
        for ty in each_ref(f["type"]):
            if not ty.get("any") and not known(data, ty["ref"]):
                bad.append("%s.%s -> %s" % (tname, f["json"] or f["go"], ty["ref"]))
    if bad:
        die("unresolved references after repair:\n  " + "\n  ".join(bad))


# ---------------------------------------------------------------------------------------------
# Model: value types, fields, types, kinds.
# ---------------------------------------------------------------------------------------------

def c_str(s):
    if s is None:
        return "NULL"
    out = '"'
    for ch in s:
        if ch in '"\\':
            out += "\\" + ch
        elif ord(ch) < 0x20 or ord(ch) > 0x7e:
            out += "\\%03o" % ord(ch) if ord(ch) < 0x80 else "".join(
                "\\%03o" % b for b in ch.encode("utf-8"))
        else:
            out += ch
    return out + '"'


def type_ident(name):
    """io.k8s.api.core.v1.Service -> core_v1_Service; meta/v1 -> meta_v1_*; apiextensions and
    apiregistration -> apiextensions_v1_*, apiregistration_v1_*."""
    for pre in ("io.k8s.api.", "io.k8s.apimachinery.pkg.apis.", "io.k8s.apimachinery.pkg.api.",
                "io.k8s.apimachinery.pkg.util.", "io.k8s.apimachinery.pkg.",
                "io.k8s.apiextensions-apiserver.pkg.apis.", "io.k8s.kube-aggregator.pkg.apis."):
        if name.startswith(pre):
            name = name[len(pre):]
            break
    return re.sub(r"[^A-Za-z0-9]", "_", name)


def plural(kind):
    # Kubernetes' rule (meta.UnsafeGuessKindToResource) with the consonant+y refinement:
    # lowercase; irregulars from the list; "s" (and x, z, ch, sh) -> +es; consonant+y -> ies.
    if kind in IRREGULAR_PLURALS:
        return IRREGULAR_PLURALS[kind]
    k = kind.lower()
    if k.endswith(("s", "x", "z", "ch", "sh")):
        return k + "es"
    if k.endswith("y") and len(k) > 1 and k[-2] not in "aeiou":
        return k[:-1] + "ies"
    return k + "s"


class Model:
    def __init__(self, data):
        self.data = data
        self.types = {}          # name -> dict(kind=vkind, fields=[...], struct_type, genclient)
        self.values = []         # list of value dicts, index = id
        self.value_ids = {}      # key tuple -> id
        self.enums = {}          # alias name -> index
        self.kinds = []

    # values are deduplicated by their full description
    def value(self, key, **v):
        if key in self.value_ids:
            return self.value_ids[key]
        v["key"] = key
        self.values.append(v)
        self.value_ids[key] = len(self.values) - 1
        return self.value_ids[key]

    def scalar_value(self, kind, name=None):
        return self.value(("scalar", kind, name), vkind=SCALAR_VKIND[kind], name=name)

    def ref_value(self, ref):
        d = self.data
        if ref in SPECIAL_VKIND:
            return self.value(("special", ref), vkind=SPECIAL_VKIND[ref], name=ref, type=ref)
        if ref == UID:
            return self.scalar_value("string", UID)
        if is_wrapper(d, ref):
            # JSON: the array itself; protobuf: the message its type describes
            elem = self.alias_elem(ref, d["aliases"][ref][2:])
            return self.value(("wrapper", ref), vkind="K8S_V_ARRAY", name=ref, type=ref,
                              elem=elem)
        if ref in d["enums"]:
            return self.value(("enum", ref), vkind="K8S_V_ENUM", name=ref, enum=ref)
        if ref in d["aliases"]:
            base = d["aliases"][ref]
            if base.startswith("[]"):
                elem = self.alias_elem(ref, base[2:])
                return self.value(("alias", ref), vkind="K8S_V_ARRAY", name=ref, elem=elem)
            m = re.match(r"^map\[string\](\w+)$", base)
            if m:
                elem = self.alias_elem(ref, m.group(1))
                return self.value(("alias", ref), vkind="K8S_V_MAP", name=ref, elem=elem)
            if base not in SCALAR_VKIND:
                die("alias %s: cannot type %r" % (ref, base))
            return self.scalar_value(base, ref)
        if ref in d["types"] or ref in self.types:
            return self.value(("struct", ref), vkind="K8S_V_STRUCT", name=ref, type=ref)
        die("cannot type ref %s" % ref)

    def alias_elem(self, alias, name):
        # the element of a named slice or map: a scalar, or a type of the alias's package
        # (JSONSchemaDefinitions is map[string]JSONSchemaProps, ValidationRules
        # []ValidationRule)
        if name in SCALAR_VKIND:
            return self.scalar_value(name)
        return self.ref_value(pkg_of(alias) + "." + name)

    def type_value(self, ty):
        k = ty["kind"]
        if k == "scalar":
            return self.scalar_value(ty["type"])
        if k == "bytes":
            return self.scalar_value("bytes")
        if k == "ref":
            if ty.get("any"):
                return self.value(("any", ty["ref"]), vkind="K8S_V_ANY", name=ty["ref"])
            return self.ref_value(ty["ref"])
        if k == "array":
            elem = self.type_value(ty["items"])
            return self.value(("array", elem), vkind="K8S_V_ARRAY", elem=elem)
        if k == "map":
            elem = self.type_value(ty["values"])
            key = ty.get("key", "string")
            key = None if key == "string" else (key if "." in key else CORE + "." + key)
            named = ty.get("named")
            return self.value(("map", elem, key, named), vkind="K8S_V_MAP", elem=elem,
                              key_name=key, name=named)
        die("unknown field type kind %r" % k)

    def build(self):
        d = self.data
        for i, name in enumerate(sorted(d["enums"])):
            self.enums[name] = i
        wrappers = {n for n in d["special"] if is_wrapper(d, n)}
        names = set(d["types"]) | set(SPECIAL_VKIND) | wrappers | {UNKNOWN, RT_TYPEMETA}
        for name in sorted(names):
            t = d["types"].get(name, {"fields": []})
            vkind = "K8S_V_ARRAY" if name in wrappers else SPECIAL_VKIND.get(name,
                                                                             "K8S_V_STRUCT")
            self.types[name] = {"vkind": vkind, "fields": [], "src": t}
        for name in sorted(self.types):
            mt = self.types[name]
            t = mt["src"]
            if name in d["special"]:
                body = re.match(r"^message \{(.*?)\}", d["special"][name]["proto"])
                mt["fields"] = (self.proto_fields(pkg_of(name), body.group(1), False)
                                if body else [])
            elif name == RT_TYPEMETA:
                # runtime.TypeMeta (not meta/v1's): the type and kind of a protobuf body,
                # described by the Unknown envelope's "with TypeMeta { ... }". Its Go fields
                # carry json:"apiVersion,omitempty" and json:"kind,omitempty".
                body = re.search(r"with TypeMeta \{(.*?)\}", d["special"][UNKNOWN]["proto"])
                mt["fields"] = self.proto_fields(pkg_of(UNKNOWN), body.group(1), True)
            else:
                mt["fields"] = [self.field(name, f) for f in t["fields"]]
            mt["doc"] = t.get("doc")
            mt["struct_type"] = t.get("structType")
            mt["genclient"] = bool(t.get("genclient"))
        self.build_kinds()

    def proto_fields(self, pkg, body, with_json):
        # The protobuf form of a special type, from its `special` description, e.g.
        # "message { optional int64 seconds = 1; optional int32 nanos = 2; }". These fields
        # have no JSON name (K8S_F_PB_ONLY): the JSON form is the special value itself. A
        # message type named there is runtime's TypeMeta or a type of the special's package
        # (JSONSchemaProps); a repeated field's value is an array, as for ordinary fields.
        fields = []
        for m in re.finditer(r"(optional|repeated|required) (\w+) (\w+) = (\d+);", body):
            label, pbtype, fname, num = m.groups()
            if pbtype == "TypeMeta":
                val = self.ref_value(RT_TYPEMETA)
            elif pbtype in ("string", "bytes", "int64", "int32", "bool"):
                val = self.scalar_value(pbtype)
            elif pkg + "." + pbtype in self.data["types"]:
                val = self.ref_value(pkg + "." + pbtype)
            else:
                die("%s: cannot type protobuf %s %s" % (pkg, pbtype, fname))
            wire = "varint" if pbtype in ("int64", "int32", "bool") else "bytes"
            if label == "repeated":
                val = self.value(("array", val), vkind="K8S_V_ARRAY", elem=val)
            flags = ["K8S_F_OMITEMPTY"] if with_json else ["K8S_F_PB_ONLY"]
            fields.append({"json": fname if with_json else None, "go": fname[0].upper() +
                           fname[1:], "value": val, "flags": flags,
                           "pb": (int(num), wire, {"optional": "opt", "repeated": "rep",
                                                   "required": "req"}[label], None)})
        return fields

    def field(self, tname, f):
        d = self.data
        flags = []
        if f["omitempty"]:
            flags.append("K8S_F_OMITEMPTY")
        if f["inline"]:
            flags.append("K8S_F_INLINE")
        ref = f["type"].get("ref") if f["type"]["kind"] == "ref" else None
        if ref and ref in d["types"] and f["go"] == short_of(ref):
            flags.append("K8S_F_EMBEDDED")
        if f.get("optional"):
            flags.append("K8S_F_OPTIONAL")
        if f.get("required"):
            flags.append("K8S_F_REQUIRED")
        if f["json"] == "-":
            flags.append("K8S_F_NO_JSON")
        val = self.type_value(f["type"])
        pb = f.get("protobuf")
        if pb:
            elem = self.values[val]
            packable = (pb["label"] == "rep" and elem["vkind"] == "K8S_V_ARRAY"
                        and self.values[elem["elem"]]["vkind"] in
                        ("K8S_V_INT32", "K8S_V_INT64", "K8S_V_BOOL"))
            if packable:
                flags.append("K8S_F_PB_PACKABLE")
        patch = f.get("patchStrategy")
        return {
            "json": None if f["json"] == "-" else f["json"],
            "go": f["go"],
            "value": val,
            "flags": flags,
            "pb": (pb["number"], pb["wire"], pb["label"], pb.get("casttype"),
                   pb.get("castkey")) if pb else None,
            "patch": patch,
            "merge_key": f.get("patchMergeKey"),
            "list_type": f.get("listType"),
            "list_map_keys": f.get("listMapKeys"),
            "map_type": f.get("mapType"),
            "struct_type": f.get("structType"),
            "default": f.get("default"),
            "doc": f.get("doc"),
        }

    def build_kinds(self):
        d = self.data
        gv_of_pkg = {}
        kinds = []
        for kind, entries in sorted(d["kinds"].items()):
            for e in entries:
                if e["type"] not in d["types"]:
                    die("kind %s: unknown type %s" % (kind, e["type"]))
                gv_of_pkg[pkg_of(e["type"])] = (e["group"], e["version"])
                # a kind that is only another kind's subresource input (TokenRequest, the
                # body of serviceaccounts/token) has no resource of its own
                res = None if e.get("subresourceOf") else plural(kind)
                kinds.append({"kind": kind, "group": e["group"], "version": e["version"],
                              "type": e["type"], "cluster": e["clusterScoped"],
                              "resource": res, "flags": ["K8S_KIND_RESOURCE"] if res else []})
        # Extra registered kinds (see the comment at CORE_EXTRA_KINDS).
        for kind, (tname, res) in sorted(CORE_EXTRA_KINDS.items()):
            if tname in d["types"]:
                kinds.append({"kind": kind, "group": "", "version": "v1", "type": tname,
                              "cluster": False, "resource": res,
                              "flags": ["K8S_KIND_RESOURCE"] if res else []})
        for kind, tname in sorted(GROUP_EXTRA_KINDS.items()):
            if tname in d["types"]:
                pkg = d["packages"][pkg_of(tname)]
                g, v = pkg["group"], pkg["version"]
                kinds.append({"kind": kind, "group": g, "version": v, "type": tname,
                              "cluster": False, "resource": None, "flags": []})
        for kind in UNVERSIONED_KINDS:
            if META + "." + kind in d["types"]:
                kinds.append({"kind": kind, "group": "", "version": "v1",
                              "type": META + "." + kind, "cluster": False, "resource": None,
                              "flags": []})
        for g, v in sorted(set(gv_of_pkg.values())):
            for kind in PER_GROUP_VERSION_KINDS:
                if META + "." + kind in d["types"]:
                    kinds.append({"kind": kind, "group": g, "version": v,
                                  "type": META + "." + kind, "cluster": False,
                                  "resource": None, "flags": []})
        # The List kind of every served resource whose <Type>List exists (items: []<Type>).
        for k in list(kinds):
            if "K8S_KIND_RESOURCE" not in k["flags"]:
                continue
            ltype = k["type"] + "List"
            if ltype in d["types"]:
                k["list_kind"] = k["kind"] + "List"
                kinds.append({"kind": k["kind"] + "List", "group": k["group"],
                              "version": k["version"], "type": ltype, "cluster": k["cluster"],
                              "resource": None, "flags": ["K8S_KIND_LIST"],
                              "item": (k["group"], k["version"], k["kind"])})
        for k in kinds:
            if k["kind"] == "List" and k["group"] == "" and k["type"] == META + ".List":
                k["flags"] = ["K8S_KIND_LIST"]
        seen = set()
        for k in kinds:
            key = (k["group"], k["version"], k["kind"])
            if key in seen:
                die("duplicate kind %s" % (key,))
            seen.add(key)
            k["api_version"] = k["version"] if not k["group"] else k["group"] + "/" + k["version"]
            k["singular"] = k["kind"].lower() if k["resource"] else None
        index = {(k["group"], k["version"], k["kind"]): i for i, k in enumerate(kinds)}
        for k in kinds:
            k["item_index"] = index[k["item"]] if "item" in k else None
        self.kinds = kinds


# ---------------------------------------------------------------------------------------------
# Emission
# ---------------------------------------------------------------------------------------------

HEADER = """/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GENERATED by tools/k8sgen/k8sgen.py from shared/reference/k8s-api/types.json. Do not edit:
 * run the k8s_regen target. The sources types.json was read from:
%s"""


class Emitter:
    def __init__(self, model, notes):
        self.m = model
        self.notes = notes
        self.type_index = {n: i for i, n in enumerate(sorted(model.types))}

    def sources(self):
        return "".join(" *   %s %s\n" % kv for kv in sorted(self.m.data["sources"].items()))

    def header(self):
        m = self.m
        out = [HEADER % self.sources()]
        out.append(" * The type ids below index k8s_schema_types[] (sorted by name).\n */\n")
        out.append("#ifndef DROVER_K8S_SCHEMA_GEN_H\n#define DROVER_K8S_SCHEMA_GEN_H\n\n")
        out.append("#include <stddef.h>\n\n#include \"k8s_schema.h\" /* the structs; it includes this "
                   "file after them */\n\n")
        out.append("/* clang-format off */\nenum k8s_type_id {\n")
        for name in sorted(m.types):
            out.append("\tK8S_T_%s = %d,\n" % (type_ident(name), self.type_index[name]))
        out.append("\tK8S_T__COUNT = %d,\n};\n/* clang-format on */\n\n" % len(m.types))
        out.append("extern const struct k8s_type k8s_schema_types[K8S_T__COUNT];\n")
        out.append("extern const struct k8s_kind k8s_schema_kinds[];\n")
        out.append("extern const size_t k8s_schema_nkinds;\n")
        out.append("extern const struct k8s_enum k8s_schema_enums[];\n")
        out.append("extern const size_t k8s_schema_nenums;\n\n#endif\n")
        return "".join(out)

    def tref(self, name):
        return "&k8s_schema_types[K8S_T_%s]" % type_ident(name)

    def source(self):
        m = self.m
        out = [HEADER % self.sources()]
        out.append(" *\n * Repairs applied to types.json (see k8sgen.py for why): %d\n"
                   % len(self.notes))
        out.append(" */\n#include \"k8s_schema.h\"\n\n/* clang-format off */\n\n")
        # enums
        for name, i in sorted(m.enums.items(), key=lambda x: x[1]):
            vals = m.data["enums"][name]
            out.append("static const char *const k8s_ev_%d[] = { %s, NULL };\n"
                       % (i, ", ".join(c_str(v) for v in vals)))
        out.append("\nconst struct k8s_enum k8s_schema_enums[] = {\n")
        for name, i in sorted(m.enums.items(), key=lambda x: x[1]):
            out.append("\t{ %s, k8s_ev_%d, %d, %s },\n" % (c_str(name), i,
                                                          len(m.data["enums"][name]),
                                                          "true" if enum_open(name) else "false"))
        out.append("};\nconst size_t k8s_schema_nenums = %d;\n\n" % len(m.enums))
        # values: elements always precede their containers (built depth-first)
        for i, v in enumerate(m.values):
            parts = [".kind = " + v["vkind"]]
            if v.get("name"):
                parts.append(".name = " + c_str(v["name"]))
            if v.get("type"):
                parts.append(".type = " + self.tref(v["type"]))
            if v.get("enum"):
                parts.append(".enm = &k8s_schema_enums[%d]" % m.enums[v["enum"]])
            if v.get("elem") is not None:
                parts.append(".elem = &k8s_v_%d" % v["elem"])
            if v.get("key_name"):
                parts.append(".key_name = " + c_str(v["key_name"]))
            out.append("static const struct k8s_value k8s_v_%d = { %s };\n"
                       % (i, ", ".join(parts)))
        out.append("\n")
        # fields
        for name in sorted(m.types):
            fields = m.types[name]["fields"]
            if not fields:
                continue
            lmk = []
            for j, f in enumerate(fields):
                if f.get("list_map_keys"):
                    lmk.append("static const char *const k8s_lmk_%d_%d[] = { %s, NULL };\n"
                               % (self.type_index[name], j,
                                  ", ".join(c_str(k) for k in f["list_map_keys"])))
            out.extend(lmk)
            out.append("static const struct k8s_field k8s_f_%d[] = { /* %s */\n"
                       % (self.type_index[name], name))
            for j, f in enumerate(fields):
                out.append("\t{ " + self.field(name, j, f) + " },\n")
            out.append("};\n")
        out.append("\nconst struct k8s_type k8s_schema_types[K8S_T__COUNT] = {\n")
        for name in sorted(m.types):
            t = m.types[name]
            i = self.type_index[name]
            parts = [".name = " + c_str(name), ".go = " + c_str(short_of(name)),
                     ".kind = " + t["vkind"]]
            if t["fields"]:
                parts.append(".fields = k8s_f_%d" % i)
                parts.append(".nfields = %d" % len(t["fields"]))
            if t.get("struct_type"):
                parts.append(".struct_type = K8S_STRUCT_" + t["struct_type"].upper())
            if t.get("genclient"):
                parts.append(".genclient = true")
            out.append("\t[%d] = { %s },\n" % (i, ", ".join(parts)))
        out.append("};\n\n")
        # kinds
        out.append("const struct k8s_kind k8s_schema_kinds[] = {\n")
        for k in m.kinds:
            parts = [".kind = " + c_str(k["kind"]), ".group = " + c_str(k["group"]),
                     ".version = " + c_str(k["version"]),
                     ".api_version = " + c_str(k["api_version"]),
                     ".type = " + self.tref(k["type"])]
            if k["resource"]:
                parts.append(".resource = " + c_str(k["resource"]))
                parts.append(".singular = " + c_str(k["singular"]))
            if k.get("list_kind"):
                parts.append(".list_kind = " + c_str(k["list_kind"]))
            if k["item_index"] is not None:
                parts.append(".item_kind = &k8s_schema_kinds[%d]" % k["item_index"])
            if k["cluster"]:
                parts.append(".cluster_scoped = true")
            parts.append(".flags = " + (" | ".join(k["flags"]) or "0"))
            out.append("\t{ %s },\n" % ", ".join(parts))
        out.append("};\nconst size_t k8s_schema_nkinds = %d;\n\n/* clang-format on */\n"
                   % len(m.kinds))
        return "".join(out)

    def docs(self):
        """k8s_schema_docs_gen.c: the documentation of every type and field, apart from the
        tables (the text kube-apiserver's OpenAPI serves as description; kubectl explain)."""
        m = self.m
        out = [HEADER % self.sources()]
        out.append(" *\n * The documentation of the types and fields of k8s_schema_gen.c, indexed "
                   "by type id and field\n * index (k8s_type_doc, k8s_field_doc).\n */\n"
                   "#include \"k8s_schema.h\"\n\n/* clang-format off */\n\n")
        # each text once (many fields share theirs: ObjectMeta's "Standard object's
        # metadata", the status conditions ...)
        texts = {}

        def ref(doc):
            if not doc:
                return "NULL"
            if doc not in texts:
                texts[doc] = len(texts)
                out.append("static const char k8s_d_%d[] = %s;\n" % (texts[doc], c_str(doc)))
            return "k8s_d_%d" % texts[doc]

        fdocs = {}
        for name in sorted(m.types):
            fields = m.types[name]["fields"]
            if not any(f.get("doc") for f in fields):
                continue
            i = self.type_index[name]
            refs = [ref(f.get("doc")) for f in fields]
            fdocs[i] = True
            out.append("static const char *const k8s_fd_%d[] = { /* %s */\n" % (i, name))
            for r in refs:
                out.append("\t%s,\n" % r)
            out.append("};\n")
        tdocs = {name: ref(m.types[name].get("doc")) for name in sorted(m.types)}
        out.append("\nconst char *const k8s_schema_type_docs[K8S_T__COUNT] = {\n")
        for name in sorted(m.types):
            if tdocs[name] != "NULL":
                out.append("\t[%d] = %s,\n" % (self.type_index[name], tdocs[name]))
        out.append("};\n\nconst char *const *const k8s_schema_field_docs[K8S_T__COUNT] = {\n")
        for i in sorted(fdocs):
            out.append("\t[%d] = k8s_fd_%d,\n" % (i, i))
        out.append("};\n\n/* clang-format on */\n")
        return "".join(out)

    def field(self, tname, j, f):
        parts = [".json = " + c_str(f["json"]), ".go = " + c_str(f["go"]),
                 ".value = &k8s_v_%d" % f["value"]]
        if f["flags"]:
            parts.append(".flags = " + " | ".join(f["flags"]))
        if f.get("pb"):
            num, wire, label = f["pb"][0], f["pb"][1], f["pb"][2]
            parts.append(".pb_number = %d" % num)
            parts.append(".pb_wire = " + {"varint": "K8S_PB_VARINT", "bytes": "K8S_PB_LEN",
                                          "fixed64": "K8S_PB_FIXED64"}[wire])
            parts.append(".pb_label = " + {"opt": "K8S_PB_OPTIONAL", "rep": "K8S_PB_REPEATED",
                                           "req": "K8S_PB_REQUIRED"}[label])
            if len(f["pb"]) > 3 and f["pb"][3]:
                parts.append(".pb_casttype = " + c_str(f["pb"][3]))
            if len(f["pb"]) > 4 and f["pb"][4]:
                parts.append(".pb_castkey = " + c_str(f["pb"][4]))
        if f.get("patch"):
            bits = " | ".join("K8S_PATCH_" + {"merge": "MERGE", "replace": "REPLACE",
                                                "retainKeys": "RETAIN_KEYS"}[s]
                              for s in f["patch"].split(","))
            parts.append(".patch = " + bits)
            parts.append(".patch_strategy = " + c_str(f["patch"]))
        if f.get("merge_key"):
            parts.append(".patch_merge_key = " + c_str(f["merge_key"]))
        if f.get("list_type"):
            parts.append(".list_type = K8S_LIST_" + f["list_type"].upper())
        if f.get("list_map_keys"):
            parts.append(".list_map_keys = k8s_lmk_%d_%d" % (self.type_index[tname], j))
        if f.get("map_type"):
            parts.append(".map_type = K8S_MAP_" + f["map_type"].upper())
        if f.get("struct_type"):
            parts.append(".struct_type = K8S_STRUCT_" + f["struct_type"].upper())
        if f.get("default") is not None:
            parts.append(".default_json = " + c_str(f["default"]))
        return ", ".join(parts)


VERB_BITS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def verb_mask(verbs):
    for v in verbs:
        if v not in VERB_BITS:
            die("apifacts: unknown verb %r" % v)
    return " | ".join("API_VERB_" + v.upper() for v in verbs) or "0"


def c_strlist(name, items):
    return "static const char *const %s[] = { %s };\n" % (
        name, ", ".join([c_str(i) for i in items] + ["NULL"]))


def api_source(model, srcs):
    """control/api/api_resources_gen.c: the served resources and their API server facts."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import apifacts
    index = {(k["group"], k["version"], k["kind"]): i for i, k in enumerate(model.kinds)}
    out = [HEADER % srcs]
    out.append(" * and tools/k8sgen/apifacts.py (the API server's own facts about each resource).\n"
               " */\n#include \"api_resources.h\"\n#include \"api_strategy.h\"\n\n/* clang-format off */\n\n")
    rows = []
    for n, r in enumerate(apifacts.RESOURCES):
        g, v, kind = r["gvk"]
        if (g, v, kind) not in index:
            die("apifacts: %s/%s %s is not a kind of types.json" % (g, v, kind))
        k = model.kinds[index[(g, v, kind)]]
        if not k["resource"]:
            die("apifacts: %s is not a resource" % kind)
        parts = [".kind = &k8s_schema_kinds[%d]" % index[(g, v, kind)],
                 ".key = " + c_str(k["resource"] + ("." + g if g else "")),
                 ".verbs = " + verb_mask(r["verbs"])]
        for field, cname in (("short", "short_names"), ("categories", "categories"),
                             ("fields", "field_selectors")):
            if r.get(field):
                out.append(c_strlist("api_%s_%d" % (field, n), r[field]))
                parts.append(".%s = api_%s_%d" % (cname, field, n))
        subs = r.get("subresources", [])
        if subs:
            out.append("static const struct api_subresource api_sub_%d[] = {\n" % n)
            for name, skind, sverbs in subs:
                sg, sv, sk = g, v, skind
                if skind.count("/") == 2:
                    sg, sv, sk = skind.split("/")
                elif skind.count("/") == 1:
                    sg = ""
                    sv, sk = skind.split("/")
                out.append("\t{ .name = %s, .group = %s, .version = %s, .kind = %s, "
                           ".verbs = %s },\n" % (c_str(name), c_str(sg), c_str(sv), c_str(sk),
                                                 verb_mask(sverbs)))
            out.append("};\n")
            parts.append(".subresources = api_sub_%d" % n)
            parts.append(".nsubresources = %d" % len(subs))
        flags = []
        names = [x[0] for x in subs]
        if "status" in names:
            flags.append("API_RES_STATUS")
        if "scale" in names:
            flags.append("API_RES_SCALE")
        if r.get("generation"):
            flags.append("API_RES_GENERATION")
        if r.get("create_on_update"):
            flags.append("API_RES_CREATE_ON_UPDATE")
        parts.append(".flags = " + (" | ".join(flags) or "0"))
        if r.get("storage"):
            # another version's objects, converted (control/api/convert.c)
            at = [x["gvk"] for x in apifacts.RESOURCES].index(tuple(r["storage"]))
            parts.append(".storage = &api_resources[%d]" % at)
            parts.append(".to_storage = api_conv_%s_to_storage" % r["convert"])
            parts.append(".from_storage = api_conv_%s_from_storage" % r["convert"])
        if r.get("strategy"):
            parts.append(".strategy = &api_strategy_%s" % r["strategy"])
        if r.get("table_order"):
            parts.append(".table_order = " + c_str(r["table_order"]))
        cols = r.get("columns", [])
        same = [m for m, x in enumerate(apifacts.RESOURCES[:n]) if x.get("columns") is cols]
        if cols and same:
            # a list another resource already has (a kind's other version): shared
            parts.append(".columns = api_col_%d" % same[0])
            parts.append(".ncolumns = %d" % len(cols))
        elif cols:
            out.append("static const struct api_column api_col_%d[] = {\n" % n)
            for c in cols:
                out.append("\t{ .name = %s, .type = %s, .format = %s, .priority = %d, "
                           ".cell = %s,\n\t  .description = %s },\n"
                           % (c_str(c["name"]), c_str(c["type"]), c_str(c["format"]),
                              c["priority"], c_str(c["cell"]), c_str(c["description"])))
            out.append("};\n")
            parts.append(".columns = api_col_%d" % n)
            parts.append(".ncolumns = %d" % len(cols))
        rows.append("\t{ " + ", ".join(parts) + " },\n")
    out.append("\nconst struct api_resource api_resources[] = {\n")
    out.extend(rows)
    out.append("};\nconst size_t api_nresources = %d;\n\n/* clang-format on */\n" % len(rows))
    return "".join(out)


def generate(types_path):
    with open(types_path, encoding="utf-8") as fp:
        data = json.load(fp)
    notes = []
    repair_truncated_embedded(data, notes)
    repair_lost_package(data, notes)
    repair_package_qualifier(data, notes)
    repair_special_wrappers(data, notes)
    repair_resource_list(data, notes)
    repair_foreign_refs(data, notes)
    repair_inline(data, notes)
    repair_protobuf(data, notes)
    repair_defaults(data, notes)
    check_refs(data)
    model = Model(data)
    model.build()
    em = Emitter(model, notes)
    return em.header(), em.source(), notes, model


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--types", required=True, help="path of types.json")
    ap.add_argument("--out", required=True, help="directory of k8s_schema_gen.{c,h}")
    ap.add_argument("--api-out", help="directory of api_resources_gen.c (the API server's)")
    ap.add_argument("--check", action="store_true", help="compare instead of writing")
    ap.add_argument("--verbose", action="store_true", help="list every repair")
    args = ap.parse_args()
    h, c, notes, model = generate(args.types)
    if args.verbose:
        for n in notes:
            print("repair: " + n)
    files = {os.path.join(args.out, "k8s_schema_gen.h"): h,
             os.path.join(args.out, "k8s_schema_gen.c"): c,
             os.path.join(args.out, "k8s_schema_docs_gen.c"): Emitter(model, notes).docs()}
    if args.api_out:
        em = Emitter(model, notes)
        files[os.path.join(args.api_out, "api_resources_gen.c")] = api_source(model,
                                                                              em.sources())
    stale = []
    for path, text in files.items():
        try:
            with open(path, encoding="utf-8") as fp:
                old = fp.read()
        except OSError:
            old = None
        if old == text:
            continue
        if args.check:
            stale.append(path)
        else:
            with open(path, "w", encoding="utf-8") as fp:
                fp.write(text)
    if stale:
        die("out of date (run the k8s_regen target): " + ", ".join(stale))
    print("k8sgen: %d types, %d fields, %d enums, %d kinds, %d repairs"
          % (len(model.types), sum(len(t["fields"]) for t in model.types.values()),
             len(model.enums), len(model.kinds), len(notes)))


if __name__ == "__main__":
    main()
