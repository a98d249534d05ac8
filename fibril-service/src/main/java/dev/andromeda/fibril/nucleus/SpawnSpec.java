package dev.andromeda.fibril.nucleus;

import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * What to run here: code (source or fingerprint), its arguments and environment, its family
 * (with the capabilities of the child's ends of the two family channels, when they need them),
 * and how long it may live ({@code wallClock}; null: the node's default).
 */
public record SpawnSpec(Program.Kind kind, String source, String fingerprint, ArrayNode args, ObjectNode env,
                        String parent, String toChild, String fromChild, String toChildCap, String fromChildCap,
                        java.time.Duration wallClock) {

    /** With the node's default wall clock. */
    public SpawnSpec(Program.Kind kind, String source, String fingerprint, ArrayNode args, ObjectNode env,
                     String parent, String toChild, String fromChild, String toChildCap, String fromChildCap) {
        this(kind, source, fingerprint, args, env, parent, toChild, fromChild, toChildCap, fromChildCap, null);
    }

    /** The same spawn with its own wall clock. */
    public SpawnSpec withWallClock(java.time.Duration limit) {
        return new SpawnSpec(kind, source, fingerprint, args, env, parent, toChild, fromChild, toChildCap, fromChildCap, limit);
    }

    /** A spawn whose family channels (if any) need no capabilities. */
    public SpawnSpec(Program.Kind kind, String source, String fingerprint, ArrayNode args, ObjectNode env,
                     String parent, String toChild, String fromChild) {
        this(kind, source, fingerprint, args, env, parent, toChild, fromChild, null, null);
    }
}
