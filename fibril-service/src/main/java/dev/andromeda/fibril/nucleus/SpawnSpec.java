package dev.andromeda.fibril.nucleus;

import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/** What to run here: code (source or fingerprint), its arguments and environment, its family. */
public record SpawnSpec(Program.Kind kind, String source, String fingerprint, ArrayNode args, ObjectNode env,
                        String parent, String toChild, String fromChild) {}
