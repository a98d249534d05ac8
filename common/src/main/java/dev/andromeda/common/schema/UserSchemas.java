package dev.andromeda.common.schema;

import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * The checks a JSON Schema a user gives (a channel's type, a store attribute's {@code Schema})
 * passes before it is compiled, in one place for every service that takes one:
 * <ul>
 *   <li>it refers only inside itself: a {@code $ref} to a URL would make the service fetch what a
 *       user chose;</li>
 *   <li>written in draft 2020-12 (the default), it is valid by that draft's meta-schema (bundled
 *       with the validator, nothing fetched). The compiler alone takes {@code {"type": "Int"}} — an
 *       M31 type name where a schema wants "integer" — and what it made refused every value; a
 *       schema declaring another draft is compiled by that draft's own rules.</li>
 * </ul>
 */
public final class UserSchemas {

    /** The schema cannot be used; the message says why and, for a meta-schema miss, where. */
    public static final class Unusable extends IllegalArgumentException {
        Unusable(String message) { super(message); }
    }

    private static final String DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema";
    private static final SchemaRegistry REGISTRY = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    private static volatile Schema metaSchema;
    /** M31's type names and what a JSON Schema calls the same thing. */
    private static final Map<String, String> OURS = Map.of("Int", "integer", "Float", "number", "Str", "string",
            "Bool", "boolean", "Obj", "object", "Arr", "array", "List", "array");

    private UserSchemas() {}

    /** Throws {@link Unusable} unless {@code schema} passes both checks. */
    public static void check(JsonNode schema) {
        checkRefs(schema);
        JsonNode declared = schema.isObject() ? schema.get("$schema") : null;
        if (declared != null && !(declared.isString() && DRAFT_2020_12.equals(declared.asString().replaceAll("#$", "")))) return;
        List<Error> errors = meta().validate(schema);
        if (errors.isEmpty()) return;
        Error e = errors.get(0);
        String at = e.getInstanceLocation() == null ? "" : e.getInstanceLocation().toString();
        JsonNode t = schema.isObject() ? schema.get("type") : null;
        String hint = t != null && t.isString() && OURS.containsKey(t.asString())
                ? " (\"" + t.asString() + "\" is an M31 type name, given as the type itself; in a JSON Schema it is \"" + OURS.get(t.asString()) + "\")"
                : "";
        throw new Unusable("not a valid JSON Schema (draft 2020-12): " + (at.isEmpty() ? "" : at + ": ") + e.getMessage() + hint);
    }

    private static Schema meta() {
        Schema m = metaSchema;
        if (m == null) metaSchema = m = REGISTRY.getSchema(SchemaLocation.of(DRAFT_2020_12));
        return m;
    }

    private static void checkRefs(JsonNode n) {
        if (n.isObject()) {
            for (var e : n.properties()) {
                if ((e.getKey().equals("$ref") || e.getKey().equals("$dynamicRef")) && e.getValue().isString()
                        && !e.getValue().asString().startsWith("#")) {
                    throw new Unusable("a schema may only refer inside itself ($ref \"#…\"), not to " + e.getValue().asString());
                }
                checkRefs(e.getValue());
            }
        } else if (n.isArray()) {
            for (JsonNode c : n) checkRefs(c);
        }
    }
}
