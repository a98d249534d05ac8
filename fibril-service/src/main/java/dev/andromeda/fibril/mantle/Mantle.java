package dev.andromeda.fibril.mantle;

import dev.andromeda.common.security.Caller;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import tools.jackson.databind.JsonNode;

/**
 * Everything the nucleus asks of the mantle services (store, channel, naming, scheduler),
 * asynchronous throughout: a fibril waiting on any of these is parked and holds no thread. A
 * failed future carries the callee's problem ({@code ServiceClient.RemoteProblem}) or an
 * unreachable-service problem; the nucleus turns either into a JS error in the script.
 */
public interface Mantle {

    /**
     * This mantle acting for {@code who}: its calls carry who's signed identity, so the services
     * check owners and ACLs against that user, not against the node. Null: the node itself.
     */
    default Mantle as(Caller who) { return this; }

    /** A space as the store lists it: its name and the name of its key attribute. */
    record SpaceInfo(String name, String key) {}

    /** What one receive brought: the values, in order, and whether the channel is closed. */
    record Received(List<JsonNode> values, boolean closed) {}

    // store: content-addressed code

    /** Stores a source; completes with its fingerprint (sha256 hex of the UTF-8 bytes). */
    CompletableFuture<String> putCode(String source);

    CompletableFuture<String> getCode(String fingerprint);

    // store: spaces and objects

    CompletableFuture<JsonNode> makeSpace(String space, JsonNode spec);

    /** Spaces whose key attribute is named {@code keyAttr}; all spaces when it is null. */
    CompletableFuture<List<SpaceInfo>> listSpaces(String keyAttr);

    /** The stored object ({"key","attrs",…}), or null when there is none. */
    CompletableFuture<JsonNode> getObject(String space, String key);

    CompletableFuture<JsonNode> putObject(String space, String key, JsonNode write);

    /** Query parameters in order, e.g. freq.gt=5, sort=-freq, limit=10; completes with an array. */
    CompletableFuture<JsonNode> query(String space, List<Map.Entry<String, String>> params);

    /** An idempotent batch {batchId, invocations}: resending the same batchId changes nothing. */
    CompletableFuture<JsonNode> invoke(String space, JsonNode batch);

    // channels

    /** Creates a channel; completes with its id (ch-…). */
    CompletableFuture<String> openChannel(JsonNode spec);

    /** Enqueues a value; a retry with the same idempotency key is not delivered twice. */
    CompletableFuture<JsonNode> send(String channel, JsonNode value, String idempotencyKey);

    /** Long-polls for up to {@code waitSeconds}; an empty, open result means "nothing yet". */
    CompletableFuture<Received> receive(String channel, int waitSeconds, int max);

    CompletableFuture<Void> closeChannel(String channel);

    // naming and scheduler

    /** The URI an alias names ({@code GET /names/{alias}}), or null when there is no such alias. */
    CompletableFuture<String> alias(String name);

    /** Binds a fibril or node id to this node, so the gateway routes its URIs here. */
    CompletableFuture<Void> bind(String id, String kind);

    /** Asks the scheduler to place and start a fibril; completes with the node's Fibril answer. */
    CompletableFuture<JsonNode> spawn(JsonNode request);

    /** Tells the scheduler this node is alive and how many fibrils it runs. */
    CompletableFuture<Void> heartbeat(int fibrils);

    // migration

    /** Binds a fibril that moved (or was cloned) to this node; naming grows the generation on a move. Completes with it. */
    CompletableFuture<Long> rebind(String id, String kind);

    /** The binding of an id ({id, kind, node, url, generation, gone}), or null when naming has none. */
    CompletableFuture<JsonNode> lookup(String id);

    /** Hands a signed migration packet to {@code node} (found through naming: a 404 problem when unknown). */
    CompletableFuture<JsonNode> deliver(String node, JsonNode packet);

    /** Kills fibril {@code id} on {@code node} (found through naming), as {@code DELETE /fibrils/{id}} there. */
    CompletableFuture<JsonNode> kill(String node, String id);

    /** The live nodes of the constellation, name → url. */
    CompletableFuture<Map<String, String>> nodes();

    /** The fibrils of the node at {@code url}, asked of it directly ({@code state} may be null). */
    CompletableFuture<JsonNode> nodeFibrils(String url, String state);
}
