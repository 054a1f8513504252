"""FHIR R5 (5.0.0) AuditEvent and Bundle, written down by hand from the
published definitions (hl7.org/fhir/R5: auditevent.html, bundle.html,
datatypes.html, references.html, json.html), to check trenode's FHIR export
without sharing any of its code.

validate(bundle) returns a list of problems, each naming the element path;
an empty list means the JSON keeps every rule written here:
  - only elements R5 defines, each with its cardinality (arrays for 0..*,
    never for 0..1) and type, checked recursively through the data types;
  - choice elements (value[x], occurred[x], network[x]) as one typed name;
  - primitives by R5's regular expressions; no empty strings, arrays or
    objects, no nulls (json.html);
  - required bindings (AuditEvent.action, severity; Bundle.type);
  - invariants: ref-2 (a Reference has reference, identifier or display),
    bdl-1..4 (total, search, request, response only in the bundle types
    that have them), bdl-7 (fullUrl unique), bdl-8 (no version-specific
    fullUrl), fullUrl present on every entry except in batches and
    transactions, and a RESTful fullUrl ending with the resource's type/id.
Elements not produced by the export but defined by R5 (meta, text,
extension, ...) are accepted with light checks only.
"""
import base64
import re

# --- primitives (datatypes.html: each type's regex) --------------------------
_YEAR = r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_ZONE = r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]{1,9})?"
PRIMITIVE_PATTERNS = {
    "string": r"[ \r\n\t\S]+",
    "markdown": r"[ \r\n\t\S]+",
    "code": r"[^\s]+( [^\s]+)*",
    "id": r"[A-Za-z0-9\-\.]{1,64}",
    "uri": r"\S*",
    "url": r"\S*",
    "canonical": r"\S*",
    "base64Binary": r"(\s*([0-9a-zA-Z\+/=]){4}\s*)+",
    "instant": _YEAR + r"-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T" + _TIME + _ZONE,
    "dateTime": _YEAR + r"(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T" + _TIME + r")?)?"
                + _ZONE + r"?)?",
    "time": _TIME,
}
NUMBER_TYPES = {"integer", "unsignedInt", "positiveInt", "decimal"}
PRIMITIVES = set(PRIMITIVE_PATTERNS) | NUMBER_TYPES | {"boolean"}

# --- structures: element -> (min, max, type); max None is "*" ----------------
# A type is a primitive or structure name, a dict (a backbone element), or a
# tuple of type names (a choice element, written name[x]).
MANY = None
ELEMENT = {"id": (0, 1, "string"), "extension": (0, MANY, "Extension")}
BACKBONE = dict(ELEMENT, modifierExtension=(0, MANY, "Extension"))

DATATYPES = {
    "Coding": dict(ELEMENT, system=(0, 1, "uri"), version=(0, 1, "string"),
                   code=(0, 1, "code"), display=(0, 1, "string"),
                   userSelected=(0, 1, "boolean")),
    "CodeableConcept": dict(ELEMENT, coding=(0, MANY, "Coding"), text=(0, 1, "string")),
    "Identifier": dict(ELEMENT, use=(0, 1, "code"), type=(0, 1, "CodeableConcept"),
                       system=(0, 1, "uri"), value=(0, 1, "string"),
                       period=(0, 1, "Period"), assigner=(0, 1, "Reference")),
    "Reference": dict(ELEMENT, reference=(0, 1, "string"), type=(0, 1, "uri"),
                      identifier=(0, 1, "Identifier"), display=(0, 1, "string")),
    "Period": dict(ELEMENT, start=(0, 1, "dateTime"), end=(0, 1, "dateTime")),
    "Quantity": dict(ELEMENT, value=(0, 1, "decimal"), comparator=(0, 1, "code"),
                     unit=(0, 1, "string"), system=(0, 1, "uri"), code=(0, 1, "code")),
    "Range": dict(ELEMENT, low=(0, 1, "Quantity"), high=(0, 1, "Quantity")),
    "Ratio": dict(ELEMENT, numerator=(0, 1, "Quantity"), denominator=(0, 1, "Quantity")),
    "Meta": dict(ELEMENT, versionId=(0, 1, "id"), lastUpdated=(0, 1, "instant"),
                 source=(0, 1, "uri"), profile=(0, MANY, "canonical"),
                 security=(0, MANY, "Coding"), tag=(0, MANY, "Coding")),
    "Narrative": dict(ELEMENT, status=(1, 1, "code"), div=(1, 1, "string")),
    # Extension: url and at most one value[x] of any type (not checked further).
    "Extension": None,
    "Signature": None,
}

RESOURCE = {"id": (0, 1, "id"), "meta": (0, 1, "Meta"), "implicitRules": (0, 1, "uri"),
            "language": (0, 1, "code")}
DOMAIN_RESOURCE = dict(RESOURCE, text=(0, 1, "Narrative"), contained=(0, MANY, "Resource"),
                       extension=(0, MANY, "Extension"),
                       modifierExtension=(0, MANY, "Extension"))

AUDIT_AGENT = dict(
    BACKBONE,
    type=(0, 1, "CodeableConcept"),
    role=(0, MANY, "CodeableConcept"),
    who=(1, 1, "Reference"),
    requestor=(0, 1, "boolean"),
    location=(0, 1, "Reference"),
    policy=(0, MANY, "uri"),
    **{"network[x]": (0, 1, ("Reference", "uri", "string"))},
    authorization=(0, MANY, "CodeableConcept"),
)
AUDIT_ENTITY = dict(
    BACKBONE,
    what=(0, 1, "Reference"),
    role=(0, 1, "CodeableConcept"),
    securityLabel=(0, MANY, "CodeableConcept"),
    query=(0, 1, "base64Binary"),
    detail=(0, MANY, dict(
        BACKBONE,
        type=(1, 1, "CodeableConcept"),
        **{"value[x]": (1, 1, ("Quantity", "CodeableConcept", "string", "boolean", "integer",
                               "Range", "Ratio", "time", "dateTime", "Period",
                               "base64Binary"))})),
    agent=(0, MANY, AUDIT_AGENT),
)
AUDIT_EVENT = dict(
    DOMAIN_RESOURCE,
    category=(0, MANY, "CodeableConcept"),
    code=(1, 1, "CodeableConcept"),
    action=(0, 1, "code"),
    severity=(0, 1, "code"),
    **{"occurred[x]": (0, 1, ("Period", "dateTime"))},
    recorded=(1, 1, "instant"),
    outcome=(0, 1, dict(BACKBONE, code=(1, 1, "Coding"),
                        detail=(0, MANY, "CodeableConcept"))),
    authorization=(0, MANY, "CodeableConcept"),
    basedOn=(0, MANY, "Reference"),
    patient=(0, 1, "Reference"),
    encounter=(0, 1, "Reference"),
    agent=(1, MANY, AUDIT_AGENT),
    source=(1, 1, dict(BACKBONE, site=(0, 1, "Reference"), observer=(1, 1, "Reference"),
                       type=(0, MANY, "CodeableConcept"))),
    entity=(0, MANY, AUDIT_ENTITY),
)

BUNDLE_LINK = dict(BACKBONE, relation=(1, 1, "code"), url=(1, 1, "uri"))
BUNDLE = dict(
    RESOURCE,
    identifier=(0, 1, "Identifier"),
    type=(1, 1, "code"),
    timestamp=(0, 1, "instant"),
    total=(0, 1, "unsignedInt"),
    link=(0, MANY, BUNDLE_LINK),
    entry=(0, MANY, dict(
        BACKBONE,
        link=(0, MANY, BUNDLE_LINK),
        fullUrl=(0, 1, "uri"),
        resource=(0, 1, "Resource"),
        search=(0, 1, dict(BACKBONE, mode=(0, 1, "code"), score=(0, 1, "decimal"))),
        request=(0, 1, dict(BACKBONE, method=(1, 1, "code"), url=(1, 1, "uri"),
                            ifNoneMatch=(0, 1, "string"), ifModifiedSince=(0, 1, "instant"),
                            ifMatch=(0, 1, "string"), ifNoneExist=(0, 1, "string"))),
        response=(0, 1, dict(BACKBONE, status=(1, 1, "string"), location=(0, 1, "uri"),
                             etag=(0, 1, "string"), lastModified=(0, 1, "instant"),
                             outcome=(0, 1, "Resource"))))),
    signature=(0, 1, "Signature"),
    issues=(0, 1, "Resource"),
)

RESOURCES = {"AuditEvent": AUDIT_EVENT, "Bundle": BUNDLE}

# Required bindings (their value sets' codes).
REQUIRED_CODES = {
    "AuditEvent.action": {"C", "R", "U", "D", "E"},
    "AuditEvent.severity": {"emergency", "alert", "critical", "error", "warning", "notice",
                            "informational", "debug"},
    "Bundle.type": {"document", "message", "transaction", "transaction-response", "batch",
                    "batch-response", "history", "searchset", "collection",
                    "subscription-notification"},
}


def _capital(name):
    return name[0].upper() + name[1:]


class _Checker:
    def __init__(self):
        self.problems = []

    def fail(self, path, message):
        self.problems.append(f"{path}: {message}")

    def primitive(self, path, kind, value):
        if value is None:
            return self.fail(path, "null is not a value")
        if kind == "boolean":
            if not isinstance(value, bool):
                self.fail(path, f"a boolean must be true or false, not {value!r}")
            return
        if kind in NUMBER_TYPES:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return self.fail(path, f"a {kind} must be a JSON number, not {value!r}")
            if kind != "decimal" and value != int(value):
                self.fail(path, f"a {kind} must be whole, not {value!r}")
            if kind == "unsignedInt" and value < 0 or kind == "positiveInt" and value < 1:
                self.fail(path, f"{value} is out of range for {kind}")
            return
        if not isinstance(value, str):
            return self.fail(path, f"a {kind} must be a JSON string, not {value!r}")
        if value == "":
            return self.fail(path, "empty strings are not allowed")
        if not re.fullmatch(PRIMITIVE_PATTERNS[kind], value):
            return self.fail(path, f"{value!r} is not a valid {kind}")
        if kind == "base64Binary":
            try:
                base64.b64decode(value, validate=True)
            except ValueError:
                self.fail(path, f"{value!r} is not base64")

    def value(self, path, kind, value):
        if isinstance(kind, dict):
            return self.structure(path, kind, value)
        if kind in PRIMITIVES:
            return self.primitive(path, kind, value)
        if kind == "Resource":
            return self.resource(path, value)
        definition = DATATYPES[kind]
        if definition is None:  # accepted, lightly checked
            if not isinstance(value, dict) or not value:
                self.fail(path, f"a {kind} must be a non-empty object")
            elif kind == "Extension" and "url" not in value:
                self.fail(path, "an Extension needs a url")
            return
        self.structure(path, definition, value)
        if kind == "Reference" and isinstance(value, dict) and not (
                {"reference", "identifier", "display"} & value.keys() or "extension" in value):
            self.fail(path, "ref-2: a Reference needs a reference, an identifier or a display")

    def structure(self, path, definition, value):
        if not isinstance(value, dict):
            return self.fail(path, f"must be an object, not {value!r}")
        if not value:
            return self.fail(path, "empty objects are not allowed")
        seen = set()
        for key, item in value.items():
            if key == "resourceType":
                continue
            name, kind = self.element_for(definition, key)
            if name is None:
                self.fail(f"{path}.{key}", "is not an element R5 defines here")
                continue
            if name in seen:
                self.fail(f"{path}.{key}", f"a second value for the choice {name}")
            seen.add(name)
            low, high, _ = definition[name]
            self.occurrences(f"{path}.{key}", kind, high, item)
        for name, (low, _, _) in definition.items():
            if low > 0 and name not in seen:
                self.fail(f"{path}.{name}", f"is required ({low}..)")

    @staticmethod
    def element_for(definition, key):
        """The element name and type a JSON key stands for, or (None, None)."""
        if key in definition and not key.endswith("[x]"):
            return key, definition[key][2]
        for name, (_, _, kind) in definition.items():
            if name.endswith("[x]") and key.startswith(name[:-3]):
                for choice in kind:
                    if key == name[:-3] + _capital(choice):
                        return name, choice
        return None, None

    def occurrences(self, path, kind, high, item):
        if high is MANY:
            if not isinstance(item, list):
                return self.fail(path, "repeats (0..*), so must be a JSON array")
            if not item:
                return self.fail(path, "empty arrays are not allowed")
            for i, each in enumerate(item):
                self.value(f"{path}[{i}]", kind, each)
        elif isinstance(item, list):
            self.fail(path, "has at most one value, so must not be an array")
        else:
            self.value(path, kind, item)

    def resource(self, path, value):
        if not isinstance(value, dict) or "resourceType" not in value:
            return self.fail(path, "a resource needs a resourceType")
        kind = value["resourceType"]
        if kind not in RESOURCES:
            return self.fail(path, f"{kind!r} is not a resource type checked here")
        self.structure(path, RESOURCES[kind], value)
        for element, codes in REQUIRED_CODES.items():
            owner, name = element.split(".")
            if owner == kind and isinstance(value.get(name), str) and value[name] not in codes:
                self.fail(f"{path}.{name}", f"{value[name]!r} is not in the required value set")
        if kind == "Bundle":
            self.bundle_rules(path, value)

    def bundle_rules(self, path, bundle):
        kind = bundle.get("type")
        entries = bundle.get("entry") if isinstance(bundle.get("entry"), list) else []
        if "total" in bundle and kind not in ("searchset", "history"):
            self.fail(f"{path}.total", "bdl-1: total only in a searchset or history")
        seen_urls = set()
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                continue
            where = f"{path}.entry[{i}]"
            if "search" in entry and kind != "searchset":
                self.fail(f"{where}.search", "bdl-2: search only in a searchset")
            needs_request = kind in ("batch", "transaction", "history")
            if ("request" in entry) != needs_request:
                self.fail(f"{where}.request", "bdl-3: request in batch, transaction and "
                                              "history bundles, and only there")
            needs_response = kind in ("batch-response", "transaction-response", "history")
            if ("response" in entry) != needs_response:
                self.fail(f"{where}.response", "bdl-4: response in batch-response, "
                                               "transaction-response and history bundles, "
                                               "and only there")
            url = entry.get("fullUrl")
            if url is None:
                if kind not in ("batch", "transaction"):
                    self.fail(f"{where}.fullUrl", "every entry has a fullUrl, except in "
                                                  "batches and transactions")
                continue
            if not isinstance(url, str):
                continue
            if "/_history/" in url:
                self.fail(f"{where}.fullUrl", "bdl-8: a fullUrl is not version-specific")
            if not re.match(r"[A-Za-z][A-Za-z0-9+.\-]*:", url):
                self.fail(f"{where}.fullUrl", f"{url!r} is not an absolute URI")
            if url.startswith("urn:uuid:") and not re.fullmatch(
                    r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                    url):
                self.fail(f"{where}.fullUrl", f"{url!r} is not a lowercase urn:uuid")
            resource = entry.get("resource")
            restful = re.search(r"/([A-Z][A-Za-z]+)/([A-Za-z0-9\-\.]{1,64})$", url)
            if restful and isinstance(resource, dict) and (
                    restful.group(1) != resource.get("resourceType")
                    or restful.group(2) != resource.get("id")):
                self.fail(f"{where}.fullUrl", "a RESTful fullUrl ends with the resource's "
                                              "type and id")
            if url in seen_urls:
                self.fail(f"{where}.fullUrl", "bdl-7: fullUrl must be unique in a bundle")
            seen_urls.add(url)


def validate(resource):
    """Problems found in `resource` (parsed JSON), as 'path: what' strings."""
    checker = _Checker()
    checker.resource(resource.get("resourceType", "?") if isinstance(resource, dict) else "?",
                     resource)
    return checker.problems
