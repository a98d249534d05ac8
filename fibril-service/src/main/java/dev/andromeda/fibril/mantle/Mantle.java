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

    /**
     * What one receive brought: the values and their seqs, in order, whether the channel is closed,
     * and the lease they are held under (0 when acknowledged as answered, or nothing came).
     */
    record Received(List<JsonNode> values, List<Long> seqs, boolean closed, long leaseId) {
        public Received(List<JsonNode> values, List<Long> seqs, boolean closed) {
            this(values, seqs, closed, 0);
        }
    }

    /** A channel just created: its id and its two endpoints' capabilities (null when it requires none). */
    record Opened(String id, String sendCap, String recvCap) {}

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

    // channels (cap: the endpoint's capability, sent as X-M31-Cap; null for a channel that requires none)

    /** Creates a channel (spec: type, mode, capacity, capabilities). */
    CompletableFuture<Opened> openChannel(JsonNode spec);

    /** The channel as the service shows it (type, mode, capacity…). */
    CompletableFuture<JsonNode> describeChannel(String channel, String cap);

    /**
     * Enqueues a value; a retry with the same idempotency key is not delivered twice. On a sync
     * channel {@code syncWait} > 0 is the rendezvous wait: the answer comes once a receiver took
     * it, or a 408 once it was withdrawn.
     */
    CompletableFuture<JsonNode> send(String channel, String cap, JsonNode value, String idempotencyKey, int syncWait);

    /** Enqueues values in order, all or none, as one NDJSON request with one idempotency key. */
    CompletableFuture<JsonNode> sendBatch(String channel, String cap, List<JsonNode> values, String idempotencyKey);

    /**
     * As {@link #sendBatch}, the values given as the JSON text they were already written to (a
     * node's group commit writes each message once, not again for the request).
     */
    default CompletableFuture<JsonNode> sendLines(String channel, String cap, List<String> lines, String idempotencyKey) {
        tools.jackson.databind.json.JsonMapper json = tools.jackson.databind.json.JsonMapper.builder().build();
        return sendBatch(channel, cap, lines.stream().map(json::readTree).toList(), idempotencyKey);
    }

    /**
     * Long-polls for up to {@code waitSeconds}; an empty, open result means "nothing yet".
     * {@code leaseSeconds} 0: acknowledged as answered; else leased until {@link #ack}, and
     * {@code ackUpTo} > 0 acknowledges up to that seq first, in the same request: only lease
     * {@code ackLease}'s seqs when it is not 0 (receivers sharing the cursor), else cumulatively.
     */
    CompletableFuture<Received> receive(String channel, String cap, int waitSeconds, int max, int leaseSeconds, long ackUpTo, long ackLease);

    /** As above, a cumulative ack (a receiver alone on its cursor). */
    default CompletableFuture<Received> receive(String channel, String cap, int waitSeconds, int max, int leaseSeconds, long ackUpTo) {
        return receive(channel, cap, waitSeconds, max, leaseSeconds, ackUpTo, 0);
    }

    /**
     * Acknowledges up to {@code upTo}: only lease {@code leaseId}'s seqs when it is not 0, else
     * everything on the cursor; {@code release} gives back what stays leased beyond it (of that
     * lease, or of every lease). Completes with the cursor's floor.
     */
    CompletableFuture<Long> ack(String channel, String cap, long upTo, boolean release, long leaseId);

    /** As above, cumulatively on the cursor. */
    default CompletableFuture<Long> ack(String channel, String cap, long upTo, boolean release) {
        return ack(channel, cap, upTo, release, 0);
    }

    CompletableFuture<Void> closeChannel(String channel, String cap);

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
