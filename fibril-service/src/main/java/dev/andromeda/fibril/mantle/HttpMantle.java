package dev.andromeda.fibril.mantle;

import dev.andromeda.common.config.M31Properties;
import dev.andromeda.common.http.ServiceClient;
import dev.andromeda.common.security.Caller;
import java.io.ByteArrayOutputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/** The mantle over HTTP, as the services' wire contracts say. */
public final class HttpMantle implements Mantle {

    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private final ServiceClient client;
    private final M31Properties props;

    public HttpMantle(ServiceClient client, M31Properties props) {
        this.client = client;
        this.props = props;
    }

    @Override
    public Mantle as(Caller who) {
        ServiceClient signing = client.as(who);
        return signing == client ? this : new HttpMantle(signing, props);
    }

    private String store() { return props.service("store"); }
    private String channel() { return props.service("channel"); }

    @Override
    public CompletableFuture<String> putCode(String source) {
        return client.sendAsync("POST", store() + "/code", source, JsonNode.class, TIMEOUT)
                .thenApply(n -> n.get("fingerprint").asString());
    }

    @Override
    public CompletableFuture<String> getCode(String fingerprint) {
        return client.sendAsync("GET", store() + "/code/" + seg(fingerprint), null, String.class, TIMEOUT);
    }

    @Override
    public CompletableFuture<JsonNode> makeSpace(String space, JsonNode spec) {
        return client.sendAsync("PUT", store() + "/fs/" + seg(space), spec, JsonNode.class, TIMEOUT);
    }

    @Override
    public CompletableFuture<List<SpaceInfo>> listSpaces(String keyAttr) {
        String url = store() + "/fs" + (keyAttr == null ? "" : "?key=" + q(keyAttr));
        return client.sendAsync("GET", url, null, JsonNode.class, TIMEOUT).thenApply(n -> {
            List<SpaceInfo> out = new ArrayList<>();
            JsonNode spaces = n == null ? null : n.get("spaces");
            if (spaces != null) {
                for (JsonNode s : spaces) out.add(new SpaceInfo(s.path("name").asString(), s.path("key").asString()));
            }
            return out;
        });
    }

    @Override
    public CompletableFuture<JsonNode> getObject(String space, String key) {
        return client.sendAsync("GET", store() + "/fs/" + seg(space) + "/" + seg(key), null, JsonNode.class, TIMEOUT)
                .exceptionally(err -> {
                    // a missing object is an answer (null); a missing space is a mistake to throw
                    if (unwrap(err) instanceof ServiceClient.RemoteProblem p && p.status() == 404 && !p.isNoSpace()) return null;
                    throw err instanceof CompletionException ce ? ce : new CompletionException(err);
                });
    }

    @Override
    public CompletableFuture<JsonNode> putObject(String space, String key, JsonNode write) {
        return client.sendAsync("PUT", store() + "/fs/" + seg(space) + "/" + seg(key), write, JsonNode.class, TIMEOUT);
    }

    @Override
    public CompletableFuture<JsonNode> query(String space, List<Map.Entry<String, String>> params) {
        StringBuilder url = new StringBuilder(store()).append("/fs/").append(seg(space));
        char sep = '?';
        for (Map.Entry<String, String> p : params) {
            url.append(sep).append(q(p.getKey())).append('=').append(q(p.getValue()));
            sep = '&';
        }
        return client.sendAsync("GET", url.toString(), null, JsonNode.class, TIMEOUT);
    }

    @Override
    public CompletableFuture<JsonNode> invoke(String space, JsonNode batch) {
        return client.sendAsync("POST", store() + "/fs/" + seg(space) + ":invoke", batch, JsonNode.class, Duration.ofSeconds(120));
    }

    @Override
    public CompletableFuture<Opened> openChannel(JsonNode spec) {
        return client.sendAsync("POST", channel() + "/ch", spec, JsonNode.class, TIMEOUT)
                .thenApply(n -> new Opened(n.get("id").asString(), capOf(n.get("send")), capOf(n.get("recv"))));
    }

    private static String capOf(JsonNode endpoint) {
        return endpoint != null && endpoint.hasNonNull("cap") ? endpoint.get("cap").asString() : null;
    }

    @Override
    public CompletableFuture<JsonNode> describeChannel(String ch, String cap) {
        return client.sendAsync("GET", channel() + "/ch/" + seg(ch), null, JsonNode.class, TIMEOUT, capHeader(cap));
    }

    @Override
    public CompletableFuture<JsonNode> send(String ch, String cap, JsonNode value, String idempotencyKey, int syncWait) {
        String url = channel() + "/ch/" + seg(ch) + "/messages" + (syncWait > 0 ? "?wait=" + syncWait : "");
        Map<String, String> headers = new HashMap<>(capHeader(cap));
        if (idempotencyKey != null) headers.put("Idempotency-Key", idempotencyKey);
        // a JsonNode body, so that a bare string message is sent as JSON, not as text
        return client.sendAsync("POST", url, value, JsonNode.class, syncWait > 0 ? Duration.ofSeconds(syncWait + 30L) : TIMEOUT, headers)
                .thenApply(n -> n == null ? F.objectNode() : n);
    }

    @Override
    public CompletableFuture<JsonNode> sendBatch(String ch, String cap, List<JsonNode> values, String idempotencyKey) {
        ByteArrayOutputStream body = new ByteArrayOutputStream(values.size() * 128);
        for (JsonNode v : values) {
            body.writeBytes(client.json().writeValueAsBytes(v));
            body.write('\n');
        }
        Map<String, String> headers = new HashMap<>(capHeader(cap));
        if (idempotencyKey != null) headers.put("Idempotency-Key", idempotencyKey);
        return client.sendAsync("POST", channel() + "/ch/" + seg(ch) + "/messages",
                        new ServiceClient.Raw(body.toByteArray(), "application/x-ndjson"), JsonNode.class, TIMEOUT, headers)
                .thenApply(n -> n == null ? F.objectNode() : n);
    }

    @Override
    public CompletableFuture<JsonNode> sendLines(String ch, String cap, List<String> lines, String idempotencyKey) {
        int size = 0;
        for (String l : lines) size += l.length() + 1;
        StringBuilder body = new StringBuilder(size);
        for (String l : lines) body.append(l).append('\n');
        Map<String, String> headers = new HashMap<>(capHeader(cap));
        if (idempotencyKey != null) headers.put("Idempotency-Key", idempotencyKey);
        return client.sendAsync("POST", channel() + "/ch/" + seg(ch) + "/messages",
                        new ServiceClient.Raw(body.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8), "application/x-ndjson"),
                        JsonNode.class, TIMEOUT, headers)
                .thenApply(n -> n == null ? F.objectNode() : n);
    }

    @Override
    public CompletableFuture<Received> receive(String ch, String cap, int waitSeconds, int max, int leaseSeconds, long ackUpTo, long ackLease) {
        String url = channel() + "/ch/" + seg(ch) + "/messages?wait=" + waitSeconds + "&max=" + max
                + (leaseSeconds > 0 ? "&ack=manual&lease=" + leaseSeconds
                        + (ackUpTo > 0 ? "&upTo=" + ackUpTo + (ackLease != 0 ? "&leaseId=" + ackLease : "") : "") : "");
        return client.sendAsync("GET", url, null, JsonNode.class, Duration.ofSeconds(waitSeconds + 30L), capHeader(cap)).thenApply(n -> {
            List<JsonNode> values = new ArrayList<>();
            List<Long> seqs = new ArrayList<>();
            for (JsonNode m : n.path("messages")) {
                values.add(m.get("value"));
                seqs.add(m.path("seq").asLong());
            }
            return new Received(values, seqs, n.path("closed").asBoolean(false), n.path("leaseId").asLong(0));
        });
    }

    @Override
    public CompletableFuture<Long> ack(String ch, String cap, long upTo, boolean release, long leaseId) {
        String url = channel() + "/ch/" + seg(ch) + "/ack" + (release ? "?release=true" : "")
                + (leaseId != 0 ? (release ? "&" : "?") + "leaseId=" + leaseId : "");
        return client.sendAsync("POST", url, F.objectNode().put("upTo", upTo), JsonNode.class, TIMEOUT, capHeader(cap))
                .thenApply(n -> n == null ? upTo : n.path("acked").asLong(upTo));
    }

    @Override
    public CompletableFuture<Void> closeChannel(String ch, String cap) {
        return client.sendAsync("DELETE", channel() + "/ch/" + seg(ch), null, Void.class, TIMEOUT, capHeader(cap));
    }

    private static Map<String, String> capHeader(String cap) {
        return cap == null ? Map.of() : Map.of("X-M31-Cap", cap);
    }

    @Override
    public CompletableFuture<Void> bind(String id, String kind) {
        ObjectNode b = F.objectNode().put("id", id).put("kind", kind).put("node", props.getNode())
                .put("url", props.getSelfUrl()).put("generation", 1);
        return client.sendAsync("PUT", props.service("naming") + "/names/bindings/" + seg(id), b, Void.class, TIMEOUT);
    }

    @Override
    public CompletableFuture<String> alias(String name) {
        return client.sendAsync("GET", props.service("naming") + "/names/" + seg(name), null, JsonNode.class, TIMEOUT)
                .thenApply(n -> n == null || !n.hasNonNull("uri") ? null : n.get("uri").asString())
                .exceptionally(err -> {
                    if (unwrap(err) instanceof ServiceClient.RemoteProblem p && (p.status() == 404 || p.status() == 410)) return null;
                    throw err instanceof CompletionException ce ? ce : new CompletionException(err);
                });
    }

    @Override
    public CompletableFuture<JsonNode> spawn(JsonNode request) {
        return client.sendAsync("POST", props.service("scheduler") + "/fibrils", request, JsonNode.class, TIMEOUT);
    }

    @Override
    public CompletableFuture<Void> heartbeat(int fibrils) {
        ObjectNode hb = F.objectNode().put("url", props.getSelfUrl()).put("fibrils", fibrils);
        ObjectNode labels = hb.putObject("labels");
        props.getLabels().forEach(labels::put);
        return client.sendAsync("PUT", props.service("scheduler") + "/sched/nodes/" + seg(props.getNode()), hb, Void.class,
                Duration.ofSeconds(5));
    }

    @Override
    public CompletableFuture<Long> rebind(String id, String kind) {
        // no generation: naming keeps it when nothing moved and adds one when the place changed
        ObjectNode b = F.objectNode().put("id", id).put("kind", kind).put("node", props.getNode()).put("url", props.getSelfUrl());
        return client.sendAsync("PUT", props.service("naming") + "/names/bindings/" + seg(id), b, JsonNode.class, TIMEOUT)
                .thenApply(n -> n == null ? 0L : n.path("generation").asLong(0));
    }

    @Override
    public CompletableFuture<JsonNode> lookup(String id) {
        return client.sendAsync("GET", props.service("naming") + "/names/bindings/" + seg(id), null, JsonNode.class, TIMEOUT)
                .exceptionally(err -> {
                    if (unwrap(err) instanceof ServiceClient.RemoteProblem p && (p.status() == 404 || p.status() == 410)) return null;
                    throw err instanceof CompletionException ce ? ce : new CompletionException(err);
                });
    }

    @Override
    public CompletableFuture<JsonNode> deliver(String node, JsonNode packet) {
        return nodeUrl(node).thenCompose(url -> client.sendAsync("POST", url + "/net/node=" + seg(node) + "/arrivals", packet,
                JsonNode.class, Duration.ofSeconds(60)));
    }

    @Override
    public CompletableFuture<JsonNode> kill(String node, String id) {
        return nodeUrl(node).thenCompose(url -> client.sendAsync("DELETE", url + "/fibrils/" + seg(id), null, JsonNode.class, TIMEOUT));
    }

    /** A live node's base URL, from naming; a 404 problem when naming knows no such node. */
    private CompletableFuture<String> nodeUrl(String node) {
        return lookup(node).thenApply(b -> {
            if (b == null || b.path("gone").asBoolean(false) || !b.hasNonNull("url") || !"node".equals(b.path("kind").asString())) {
                throw new ServiceClient.RemoteProblem(404, "no node " + node + " in this constellation", "node", null);
            }
            return stripSlash(b.get("url").asString());
        });
    }

    @Override
    public CompletableFuture<Map<String, String>> nodes() {
        return client.sendAsync("GET", props.service("naming") + "/net", null, JsonNode.class, TIMEOUT).thenApply(n -> {
            Map<String, String> out = new java.util.LinkedHashMap<>();
            for (JsonNode node : n.path("nodes")) {
                if (node.path("alive").asBoolean(true) && node.hasNonNull("url")) out.put(node.path("name").asString(), node.get("url").asString());
            }
            return out;
        });
    }

    @Override
    public CompletableFuture<JsonNode> nodeFibrils(String url, String state) {
        String u = stripSlash(url) + "/fibrils?scope=node" + (state == null ? "" : "&state=" + q(state));
        return client.sendAsync("GET", u, null, JsonNode.class, TIMEOUT);
    }

    private static String stripSlash(String u) {
        return u.endsWith("/") ? u.substring(0, u.length() - 1) : u;
    }

    static Throwable unwrap(Throwable t) {
        while (t instanceof CompletionException && t.getCause() != null) t = t.getCause();
        return t;
    }

    /** One path segment, percent-encoded (a space is %20 in a path, not +). */
    static String seg(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static String q(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
