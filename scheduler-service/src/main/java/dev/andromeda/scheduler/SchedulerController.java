package dev.andromeda.scheduler;

import dev.andromeda.api.FibrilsApi;
import dev.andromeda.api.SchedulerApi;
import dev.andromeda.api.model.Fibril;
import dev.andromeda.api.model.Heartbeat;
import dev.andromeda.api.model.Node;
import dev.andromeda.api.model.NodeList;
import dev.andromeda.api.model.Placement;
import dev.andromeda.api.model.PlacementRequest;
import dev.andromeda.api.model.SpawnRequest;
import dev.andromeda.common.http.ServiceClient;
import dev.andromeda.common.problem.M31Problem;
import dev.andromeda.common.security.Callers;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpTimeoutException;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.ErrorResponseException;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The node registry (heartbeats, liveness), placement, and spawning by placement + forward. */
@RestController
public class SchedulerController implements SchedulerApi, FibrilsApi {

    private static final Logger log = LoggerFactory.getLogger(SchedulerController.class);
    private static final Pattern NODE_NAME = Pattern.compile("^[A-Za-z0-9-]{1,63}$");

    private final NodeRegistry registry;
    private final Placer placer;
    private final NodeForwarder forwarder;
    private final JsonMapper json;

    private final ServiceClient client;

    public SchedulerController(NodeRegistry registry, Placer placer, NodeForwarder forwarder, JsonMapper json, ServiceClient client) {
        this.registry = registry;
        this.placer = placer;
        this.forwarder = forwarder;
        this.json = json;
        this.client = client;
    }

    // ---- registry ------------------------------------------------------------------------

    @Override
    public ResponseEntity<Node> heartbeat(String node, Heartbeat heartbeat) {
        checkUrl(heartbeat.getUrl());
        if (heartbeat.getFibrils() != null && heartbeat.getFibrils() < 0) {
            throw M31Problem.badRequest("fibrils", "fibrils cannot be negative");
        }
        Node n = registry.heartbeat(node, heartbeat);
        placer.heartbeatSeen(node);
        return ResponseEntity.ok(n);
    }

    @Override
    public ResponseEntity<NodeList> listSchedNodes() {
        return ResponseEntity.ok(new NodeList().nodes(registry.all()));
    }

    @Override
    public ResponseEntity<Placement> place(PlacementRequest req) {
        checkNode(req.getNode());
        return ResponseEntity.ok(placer.place(req.getNode(), blankToNull(req.getConstellation()), Set.of()));
    }

    // ---- listing -------------------------------------------------------------------------

    /**
     * GET /fibrils: every node can list the whole constellation (it asks its peers), so the
     * scheduler hands the question to any live node, as the caller who asked.
     */
    @GetMapping(path = "/fibrils", produces = "application/json")
    public ResponseEntity<tools.jackson.databind.JsonNode> listFibrils(
            @RequestParam(name = "state", required = false) String state) {
        List<Node> alive = registry.alive();
        if (alive.isEmpty()) throw M31Problem.unavailable("no live node to ask");
        Node n = alive.get(java.util.concurrent.ThreadLocalRandom.current().nextInt(alive.size()));
        String url = stripSlash(n.getUrl()) + "/fibrils" + (state == null ? ""
                : "?state=" + java.net.URLEncoder.encode(state, java.nio.charset.StandardCharsets.UTF_8));
        return ResponseEntity.ok(client.as(Callers.current()).get(url, tools.jackson.databind.JsonNode.class));
    }

    // ---- spawning ------------------------------------------------------------------------

    /**
     * Places the fibril and forwards the request, with {@code node} set, to that node's
     * POST /fibrils. The node's answer is passed on as it came. If the node cannot be
     * connected to (nothing reached it, so nothing can run twice), it is marked suspect and
     * one other live node is tried — unless the client named the node.
     */
    @Override
    public ResponseEntity<Fibril> spawnFibril(SpawnRequest req) {
        checkNode(req.getNode());
        boolean pinned = req.getNode() != null && !req.getNode().isBlank();
        String constellation = blankToNull(req.getConstellation());
        Set<String> tried = new HashSet<>();
        for (int attempt = 0; ; attempt++) {
            Placement p = placer.place(pinned ? req.getNode() : null, constellation, tried);
            tried.add(p.getNode());
            req.setNode(p.getNode());
            String url = stripSlash(p.getUrl()) + "/fibrils";
            try {
                // the node runs the fibril for whoever asked: forward as that caller, relayed by us
                String identity = client.as(Callers.current()).identityHeader("POST", url);
                NodeForwarder.Answer a = forwarder.post(url, json.writeValueAsBytes(req), identity);
                if (a.status() >= 400) {
                    placer.unplaced(p.getNode());
                    throw passOn(a, url);
                }
                Fibril f = json.readValue(a.body(), Fibril.class);
                var created = ResponseEntity.status(a.status());
                if (f.getUri() != null) created.location(URI.create(f.getUri()));
                return created.body(f);
            } catch (NodeForwarder.Unreachable e) {
                placer.unplaced(p.getNode());
                registry.markSuspect(p.getNode());
                log.warn("spawn: node {} is unreachable ({}), marked suspect", p.getNode(), e.getMessage());
                if (pinned || attempt >= 1) {
                    throw M31Problem.unavailable("node " + p.getNode() + " is unreachable" + (pinned ? "" : " (and so was the one tried before)"));
                }
            } catch (HttpTimeoutException e) {
                placer.unplaced(p.getNode());
                throw new M31Problem(504, "upstream-timeout", "node " + p.getNode() + " did not answer the spawn in time", null);
            } catch (IOException e) {
                // the request may have reached the node: trying another could run the fibril twice
                placer.unplaced(p.getNode());
                throw M31Problem.unavailable("spawn on node " + p.getNode() + " failed midway: " + e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw M31Problem.unavailable("interrupted");
            }
        }
    }

    @Override
    public ResponseEntity<Fibril> getFibril(String id, Integer wait) {
        throw servedByNode(id);
    }

    @Override
    public ResponseEntity<Fibril> killFibril(String id) {
        throw servedByNode(id);
    }

    private static M31Problem servedByNode(String id) {
        return new M31Problem(HttpStatus.MISDIRECTED_REQUEST.value(), "served-by-node",
                "/fibrils/" + (id.length() > 64 ? id.substring(0, 64) : id)
                        + " is served by the node that hosts it: the gateway routes it there (see /names/resolve)", null);
    }

    /** The node's problem document, every property kept; a non-problem error body becomes a 502. */
    private RuntimeException passOn(NodeForwarder.Answer a, String url) {
        HttpStatus status = HttpStatus.resolve(a.status());
        JsonNode doc = null;
        try {
            doc = json.readTree(a.body());
        } catch (RuntimeException notJson) {
            // handled below
        }
        if (status == null || doc == null || !doc.isObject()) {
            return new M31Problem(502, "bad-gateway", "node answered HTTP " + a.status() + " to POST " + url, null);
        }
        ProblemDetail pd = ProblemDetail.forStatus(status);
        for (Iterator<Map.Entry<String, JsonNode>> it = doc.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode v = e.getValue();
            switch (e.getKey()) {
                case "status" -> { }
                case "type" -> { if (v.isString()) pd.setType(URI.create(v.asString())); }
                case "title" -> pd.setTitle(v.asString());
                case "detail" -> pd.setDetail(v.asString());
                case "instance" -> { }
                default -> pd.setProperty(e.getKey(), json.treeToValue(v, Object.class));
            }
        }
        return new ErrorResponseException(status, pd, null);
    }

    // ---- helpers -------------------------------------------------------------------------

    private static void checkNode(String node) {
        if (node != null && !node.isBlank() && !NODE_NAME.matcher(node).matches()) {
            throw M31Problem.badRequest("node", "'" + node + "' is not a node name ([A-Za-z0-9-]{1,63})");
        }
    }

    private static void checkUrl(String url) {
        try {
            URI u = new URI(url);
            if (u.getScheme() == null || !u.getScheme().matches("(?i)https?") || u.getHost() == null) {
                throw M31Problem.badRequest("url", "url must be an absolute http(s) URL");
            }
        } catch (java.net.URISyntaxException e) {
            throw M31Problem.badRequest("url", "url is not a valid URL: " + e.getReason());
        }
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }

    private static String stripSlash(String u) {
        return u.endsWith("/") ? u.substring(0, u.length() - 1) : u;
    }
}
