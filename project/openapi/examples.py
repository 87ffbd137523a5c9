"""Body examples composed from the examples of each schema field.

Fields carry their own example (``metadata={"example": ...}``); a request or
answer body's example is put together from them, so it always has the shape
the schema says. A field without one is left out, which the tests catch.
"""

MISSING = object()


def resolve(spec, schema):
    """``schema`` with a top-level ``$ref`` followed."""
    while isinstance(schema, dict) and "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def compose(spec, schema, *, direction, depth=0):
    """An example value for ``schema``: its own example, else one built from its parts; MISSING if none.

    ``direction`` is ``request`` (read-only properties left out) or ``response`` (write-only left out).
    """
    schema = resolve(spec, schema)
    if not isinstance(schema, dict) or depth > 8:
        return MISSING
    if "example" in schema:
        return schema["example"]
    if "examples" in schema and schema["examples"]:
        return schema["examples"][0]
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if "array" in kinds:
        item = compose(spec, schema.get("items", {}), direction=direction, depth=depth + 1)
        return MISSING if item is MISSING else [item]
    if "object" in kinds or "properties" in schema:
        skip = "readOnly" if direction == "request" else "writeOnly"
        found = {}
        for name, prop in schema.get("properties", {}).items():
            if resolve(spec, prop).get(skip):
                continue
            value = compose(spec, prop, direction=direction, depth=depth + 1)
            if value is not MISSING:
                found[name] = value
        return found
    return MISSING


def missing(spec, schema, value, *, direction, pointer=""):
    """JSON pointers of properties ``schema`` documents that the example ``value`` leaves out."""
    schema = resolve(spec, schema)
    if not isinstance(schema, dict):
        return []
    if isinstance(value, list):
        items = schema.get("items", {})
        return [gap for item in value[:1]
                for gap in missing(spec, items, item, direction=direction, pointer=f"{pointer}/0")]
    if not isinstance(value, dict) or "properties" not in schema:
        return []
    skip = "readOnly" if direction == "request" else "writeOnly"
    gaps = []
    for name, prop in schema["properties"].items():
        if resolve(spec, prop).get(skip):
            continue
        if name not in value:
            gaps.append(f"{pointer}/{name}")
        else:
            gaps.extend(missing(spec, prop, value[name], direction=direction, pointer=f"{pointer}/{name}"))
    return gaps


def add_examples(spec, operation):
    """Give the request body and success answers a media-type ``example`` when they have none."""
    bodies = [("request", operation.get("requestBody", {}))]
    bodies += [("response", answer) for status, answer in operation["responses"].items()
               if status.startswith("2")]
    for direction, body in bodies:
        for media in body.get("content", {}).values():
            if "example" in media or "examples" in media or "schema" not in media:
                continue
            value = compose(spec, media["schema"], direction=direction)
            if value is not MISSING:
                media["example"] = value
