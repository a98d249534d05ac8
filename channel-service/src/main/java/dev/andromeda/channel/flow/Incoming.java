package dev.andromeda.channel.flow;

import dev.andromeda.channel.access.Caps;
import dev.andromeda.common.channel.ChannelTypes.Kind;
import java.util.List;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A message as a sender gave it: its JSON text (produced to Kafka as it came), the kind of its
 * value, whether an object in it has a {@code "$ch"} member (an endpoint, to be checked), and its
 * tree only once a check needs one — a JSON Schema type, or an endpoint. A line of an NDJSON batch
 * is read once by a parser that builds nothing: for a channel of a type name, a batch of
 * thousands of messages makes no trees at all.
 */
public final class Incoming {

    final byte[] json;
    final Kind kind;
    final boolean namesEndpoint;
    private JsonNode tree;

    private Incoming(byte[] json, Kind kind, boolean namesEndpoint, JsonNode tree) {
        this.json = json;
        this.kind = kind;
        this.namesEndpoint = namesEndpoint;
        this.tree = tree;
    }

    /** A message that came as a parsed JSON body. */
    static Incoming of(JsonNode value, JsonMapper json) {
        return new Incoming(json.writeValueAsBytes(value), Kind.of(value), Caps.holdsEndpoint(value), value);
    }

    /**
     * One JSON value from {@code len} bytes of {@code body} at {@code from}, read through to its
     * end: the parser checks every string it skips (escapes, UTF-8, control characters) as it
     * would building a tree; member names are compared with {@code $ch} as decoded (so
     * {@code "\u0024ch"} counts).
     * Throws the parser's exception when the bytes are not exactly one JSON value.
     */
    public static Incoming read(byte[] body, int from, int len, JsonMapper json) {
        boolean endpoint = false;
        Kind kind;
        try (JsonParser p = json.createParser(body, from, len)) {
            JsonToken t = p.nextToken();
            if (t == null) throw new IllegalArgumentException("no JSON value");
            kind = Kind.of(t);
            for (int depth = 0; ; t = p.nextToken()) {
                switch (t) {
                    case START_OBJECT, START_ARRAY -> depth++;
                    case END_OBJECT, END_ARRAY -> depth--;
                    case PROPERTY_NAME -> endpoint |= "$ch".equals(p.currentName());
                    default -> { }
                }
                if (depth == 0) break;
            }
            if (p.nextToken() != null) throw new IllegalArgumentException("more than one JSON value");
        }
        return new Incoming(java.util.Arrays.copyOfRange(body, from, from + len), kind, endpoint, null);
    }

    /** One JSON value from {@code len} bytes of {@code body} at {@code from}, parsed into its tree (a JSON Schema will look at it). */
    public static Incoming parse(byte[] body, int from, int len, JsonMapper json) {
        JsonNode tree = json.readTree(body, from, len);
        return new Incoming(java.util.Arrays.copyOfRange(body, from, from + len), Kind.of(tree), Caps.holdsEndpoint(tree), tree);
    }

    /** The messages of a send, read once the channel's type says whether they need trees. */
    public interface Messages {
        List<Incoming> read(boolean trees);
    }

    /** The message as a tree, parsed on first need. */
    JsonNode tree(JsonMapper json) {
        if (tree == null) tree = json.readTree(this.json);
        return tree;
    }
}
