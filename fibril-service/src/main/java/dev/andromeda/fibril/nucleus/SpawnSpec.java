package dev.andromeda.fibril.nucleus;

import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * What to run here: code (source or fingerprint), its arguments and environment, its family
 * (with the capabilities of the child's ends of the two family channels, when they need them).
 */
public record SpawnSpec(Program.Kind kind, String source, String fingerprint, ArrayNode args, ObjectNode env,
                        String parent, String toChild, String fromChild, String toChildCap, String fromChildCap) {

    /** A spawn whose family channels (if any) need no capabilities. */
    public SpawnSpec(Program.Kind kind, String source, String fingerprint, ArrayNode args, ObjectNode env,
                     String parent, String toChild, String fromChild) {
        this(kind, source, fingerprint, args, env, parent, toChild, fromChild, null, null);
    }
}
