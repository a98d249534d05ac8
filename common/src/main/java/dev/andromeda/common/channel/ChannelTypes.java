package dev.andromeda.common.channel;

import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.andromeda.common.problem.M31Problem;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import tools.jackson.core.JsonToken;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * A channel's type: a type name (Int, Float, Str, Bool, Any, Obj, Arr), a union
 * {@code {"Either": [t1, t2, …]}} whose members are types again, or a JSON Schema (draft 2020-12
 * unless the schema says otherwise). Schemas may only refer inside themselves: a channel type
 * never makes the service fetch a URL. The channel service checks every message it takes; a
 * node checks a message it hands from one of its fibrils to another in memory the same way.
 */
public class ChannelTypes {

    public static final String EITHER = "Either";
    public static final List<String> NAMES = List.of("Int", "Float", "Str", "Bool", "Any", "Obj", "Arr");

    private final SchemaRegistry registry = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    /** Compiled schemas by their canonical text (channels of one schema share it). */
    private final Map<String, Schema> compiled = new ConcurrentHashMap<>();

    /** Normalizes a ChannelSpec type (null → Any) to the JSON stored with the channel; 400 when unusable. */
    public JsonNode normalize(JsonNode type) {
        if (type == null || type.isNull() || type.isMissingNode()) return JsonNodeFactory.instance.stringNode("Any");
        if (type.isString()) {
            if (!NAMES.contains(type.asString())) {
                throw M31Problem.badRequest("type", "unknown type name '" + type.asString() + "' (one of " + String.join(", ", NAMES) + ", or a JSON Schema object)");
            }
            return type;
        }
        if (!type.isObject()) throw M31Problem.badRequest("type", "type is a type name, {\"Either\": [types…]} or a JSON Schema object");
        if (isUnion(type)) {
            JsonNode members = type.get(EITHER);
            if (!members.isArray() || members.isEmpty()) throw M31Problem.badRequest("type", "Either takes a non-empty array of types");
            for (JsonNode m : members) normalize(m);
            return type;
        }
        try {
            dev.andromeda.common.schema.UserSchemas.check(type);
        } catch (dev.andromeda.common.schema.UserSchemas.Unusable e) {
            throw M31Problem.badRequest("type", e.getMessage());
        }
        try {
            schema(type);
        } catch (RuntimeException e) {
            throw M31Problem.badRequest("type", "not a usable JSON Schema: " + e.getMessage());
        }
        return type;
    }

    /** 422 naming the failing path when {@code value} is not of {@code type}. */
    public void check(JsonNode type, JsonNode value) {
        check(type, value, "");
    }

    /** As {@link #check(JsonNode, JsonNode)}, the problem's field prefixed (e.g. "[3]" for line 3 of a batch). */
    public void check(JsonNode type, JsonNode value, String prefix) {
        prefixed(prefix, () -> checkOne(type, value));
    }

    private static void prefixed(String prefix, Runnable check) {
        try {
            check.run();
        } catch (M31Problem p) {
            if (prefix.isEmpty()) throw p;
            throw M31Problem.unprocessable(prefix + p.field(), prefix + " " + p.getMessage());
        }
    }

    public static boolean isUnion(JsonNode type) {
        return type.isObject() && type.size() == 1 && type.has(EITHER);
    }

    /** What a type name looks at: the kind of a JSON value. */
    public enum Kind {
        INT("an integer"), FLOAT("a number"), STR("a string"), BOOL("a boolean"), OBJ("an object"), ARR("an array"), NULL("null");

        private final String described;

        Kind(String described) {
            this.described = described;
        }

        public static Kind of(JsonNode v) {
            if (v.isIntegralNumber()) return INT;
            if (v.isNumber()) return FLOAT;
            if (v.isString()) return STR;
            if (v.isBoolean()) return BOOL;
            if (v.isObject()) return OBJ;
            if (v.isArray()) return ARR;
            return NULL;
        }

        /** The kind of the value that begins with {@code first} (as a parser reads it). */
        public static Kind of(JsonToken first) {
            return switch (first) {
                case VALUE_NUMBER_INT -> INT;
                case VALUE_NUMBER_FLOAT -> FLOAT;
                case VALUE_STRING -> STR;
                case VALUE_TRUE, VALUE_FALSE -> BOOL;
                case START_OBJECT -> OBJ;
                case START_ARRAY -> ARR;
                default -> NULL;
            };
        }
    }

    /**
     * Whether a value of {@code type} is checked by its kind alone: a type name, or a union of
     * them. Such a message need not be built into a tree to be checked (see {@link #check(JsonNode, Kind, String)}).
     */
    public static boolean kindOnly(JsonNode type) {
        if (type.isString()) return true;
        if (!isUnion(type)) return false;
        for (JsonNode m : type.get(EITHER)) {
            if (!kindOnly(m)) return false;
        }
        return true;
    }

    /** As {@link #check(JsonNode, JsonNode, String)} for a {@link #kindOnly} type, given the value's kind. */
    public void check(JsonNode type, Kind kind, String prefix) {
        prefixed(prefix, () -> checkKind(type, kind));
    }

    private static void checkKind(JsonNode type, Kind kind) {
        if (isUnion(type)) {
            anyMember(type, m -> checkKind(m, kind));
            return;
        }
        String name = type.asString();
        boolean ok = switch (name) {
            case "Int" -> kind == Kind.INT;
            case "Float" -> kind == Kind.INT || kind == Kind.FLOAT;
            case "Str" -> kind == Kind.STR;
            case "Bool" -> kind == Kind.BOOL;
            case "Obj" -> kind == Kind.OBJ;
            case "Arr" -> kind == Kind.ARR;
            default -> true;
        };
        if (!ok) throw M31Problem.unprocessable("$", "the message is not a" + (name.matches("[AEIOU].*") ? "n " : " ") + name
                + " (got " + kind.described + ")");
    }

    /** Passes when a member of the union passes {@code check}; else a 422 with why each did not. */
    private static void anyMember(JsonNode union, java.util.function.Consumer<JsonNode> check) {
        List<String> why = new java.util.ArrayList<>();
        for (JsonNode m : union.get(EITHER)) {
            try {
                check.accept(m);
                return;
            } catch (M31Problem p) {
                why.add(p.getMessage());
            }
        }
        throw M31Problem.unprocessable("$", "the message is none of the Either's types (" + String.join("; ", why) + ")");
    }

    private void checkOne(JsonNode type, JsonNode value) {
        if (isUnion(type)) {
            anyMember(type, m -> checkOne(m, value));
            return;
        }
        if (type.isString()) {
            checkKind(type, Kind.of(value));
            return;
        }
        List<Error> errors = schema(type).validate(value);
        if (!errors.isEmpty()) {
            Error e = errors.get(0);
            String path = e.getInstanceLocation() == null ? "$" : e.getInstanceLocation().toString();
            throw M31Problem.unprocessable(path, path + ": " + e.getMessage());
        }
    }

    private Schema schema(JsonNode type) {
        // a batch checks each of its messages against the same type object: its schema is found by
        // identity, without writing the schema out as text again for every message
        Last last = this.last;
        if (last != null && last.type == type) return last.schema;
        Schema s = compiled.computeIfAbsent(type.toString(), k -> registry.getSchema(type));
        this.last = new Last(type, s);
        return s;
    }

    private record Last(JsonNode type, Schema schema) {}

    private volatile Last last;
}
