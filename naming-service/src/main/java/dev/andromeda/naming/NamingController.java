package dev.andromeda.naming;

import dev.andromeda.api.NamingApi;
import dev.andromeda.api.NodesApi;
import dev.andromeda.api.model.Alias;
import dev.andromeda.api.model.Binding;
import dev.andromeda.api.model.PublicName;
import dev.andromeda.api.model.FibrilList;
import dev.andromeda.api.model.Node;
import dev.andromeda.api.model.NodeList;
import dev.andromeda.api.model.Resolution;
import dev.andromeda.common.config.M31Properties;
import dev.andromeda.common.http.ServiceClient;
import dev.andromeda.common.id.Ids;
import dev.andromeda.common.problem.M31Problem;
import dev.andromeda.common.security.Caller;
import dev.andromeda.common.security.Callers;
import java.util.Locale;
import java.util.Set;
import tools.jackson.databind.JsonNode;
import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.RestController;

/**
 * Bindings (where a fibril, channel, node or space lives now, with a generation that grows on
 * every move), resolution of M31 URIs to the URL that serves them, and the node list under /net.
 */
@RestController
public class NamingController implements NamingApi, NodesApi {

    private static final Logger log = LoggerFactory.getLogger(NamingController.class);
    static final Pattern NODE_NAME = Pattern.compile("^[A-Za-z0-9-]{1,63}$");
    private static final Pattern SPACE_NAME = Pattern.compile("^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$");
    /** How long /net waits for the scheduler's liveness before listing nodes without it. */
    private static final Duration LIVENESS_TIMEOUT = Duration.ofMillis(800);

    /** Names under /names/ that are routes of their own, not aliases. */
    static final Set<String> RESERVED = Set.of("bindings", "resolve", "pub");
    private static final int MAX_ALIAS_DEPTH = 1;

    private final BindingStore store;
    private final NameStore names;
    private final M31Properties props;
    private final ServiceClient client;

    public NamingController(BindingStore store, NameStore names, M31Properties props, ServiceClient client) {
        this.store = store;
        this.names = names;
        this.props = props;
        this.client = client;
    }

    // ---- bindings ------------------------------------------------------------------------

    @Override
    public ResponseEntity<Binding> bind(String id, Binding binding) {
        requireMantle("binding " + abbreviate(id));
        if (binding.getId() != null && !binding.getId().equals(id)) {
            throw M31Problem.badRequest("id", "the body's id '" + binding.getId() + "' differs from the path's");
        }
        if (binding.getKind() == null) throw M31Problem.badRequest("kind", "kind is required (fibril, channel, node or space)");
        checkId(id, binding.getKind());
        if (binding.getNode() != null && !NODE_NAME.matcher(binding.getNode()).matches()) {
            throw M31Problem.badRequest("node", "'" + binding.getNode() + "' is not a node name ([A-Za-z0-9-]{1,63})");
        }
        if (binding.getKind() == Binding.KindEnum.NODE && binding.getNode() != null && !binding.getNode().equals(id)) {
            throw M31Problem.badRequest("node", "a node binding's node must be its own name");
        }
        checkUrl(binding.getUrl());
        if (binding.getGeneration() != null && binding.getGeneration() < 1) {
            throw M31Problem.badRequest("generation", "generation starts at 1");
        }
        return ResponseEntity.ok(store.put(id, binding));
    }

    @Override
    public ResponseEntity<Binding> lookup(String id) {
        checkForged(id);
        return ResponseEntity.ok(live(id));
    }

    @Override
    public ResponseEntity<Void> unbind(String id) {
        checkForged(id);
        requireMantle("unbinding " + abbreviate(id));
        if (!store.markGone(id)) throw M31Problem.notFound("no binding " + id);
        return ResponseEntity.noContent().build();
    }

    // ---- resolution ----------------------------------------------------------------------

    @Override
    public ResponseEntity<Resolution> resolve(String uri) {
        return resolveUri(uri, 0);
    }

    private ResponseEntity<Resolution> resolveUri(String uri, int aliasDepth) {
        if (uri == null || !uri.startsWith("/") || uri.startsWith("//")) {
            throw M31Problem.badRequest("uri", "an M31 URI is a path such as /fibrils/{id}, /ch/{id}, /net/node={n} or /fs/{space}");
        }
        int q = uri.indexOf('?');
        String path = q < 0 ? uri : uri.substring(0, q);
        String[] seg = path.substring(1).split("/", -1);
        for (String s : seg) {
            if (s.equals(".") || s.equals("..")) throw M31Problem.badRequest("uri", "dot segments are not allowed in " + uri);
        }
        Resolution r = new Resolution().uri(uri);
        switch (seg[0]) {
            case "fibrils" -> {
                if (seg.length == 1 || seg[1].isEmpty()) {
                    // spawning (POST /fibrils) is the scheduler's: it places, then forwards to a node
                    return ResponseEntity.ok(r.target(props.service("scheduler") + uri));
                }
                Ids.require(seg[1], Ids.FIBRIL, "uri");
                Binding b = live(seg[1]);
                return ResponseEntity.ok(r.target(base(b) + uri).binding(b));
            }
            case "ch" -> {
                if (seg.length > 1 && !seg[1].isEmpty()) {
                    Ids.require(seg[1], Ids.CHANNEL, "uri");
                    return ResponseEntity.ok(serviceOrBinding(r, seg[1], "channel", uri));
                }
                return ResponseEntity.ok(r.target(props.service("channel") + uri));
            }
            case "net" -> {
                if (seg.length == 1 || seg[1].isEmpty()) return ResponseEntity.ok(r.target(props.service("naming") + uri));
                if (!seg[1].startsWith("node=")) throw M31Problem.badRequest("uri", "expected /net/node={name}… in " + uri);
                String node = seg[1].substring("node=".length());
                if (!NODE_NAME.matcher(node).matches()) throw M31Problem.badRequest("uri", "'" + node + "' is not a node name");
                Binding b = live(node);
                if (b.getKind() != Binding.KindEnum.NODE) throw M31Problem.notFound("no node " + node);
                return ResponseEntity.ok(r.target(base(b) + uri).binding(b));
            }
            case "fs" -> {
                if (seg.length > 1 && !seg[1].isEmpty()) return ResponseEntity.ok(serviceOrBinding(r, seg[1], "store", uri));
                return ResponseEntity.ok(r.target(props.service("store") + uri));
            }
            case "code" -> { return ResponseEntity.ok(r.target(props.service("store") + uri)); }
            case "names" -> { return ResponseEntity.ok(r.target(props.service("naming") + uri)); }
            case "sched" -> { return ResponseEntity.ok(r.target(props.service("scheduler") + uri)); }
            case "a" -> {
                // an aliased URI: the alias's URI, then the rest of the path and the query
                if (seg.length < 2 || seg[1].isEmpty()) throw M31Problem.badRequest("uri", "an aliased URI is /a/{alias}[/…]");
                if (aliasDepth >= MAX_ALIAS_DEPTH) throw M31Problem.badRequest("uri", "an alias cannot name another alias");
                NameStore.Named a = names.alias(seg[1]).orElseThrow(() -> M31Problem.notFound("no alias " + abbreviate(seg[1])));
                String rest = path.substring(("/a/" + seg[1]).length()) + (q < 0 ? "" : uri.substring(q));
                Resolution inner = resolveUri(a.uri() + rest, aliasDepth + 1).getBody();
                return ResponseEntity.ok(inner.uri(uri));
            }
            case "pub" -> {
                if (seg.length != 2 || seg[1].isEmpty()) throw M31Problem.badRequest("uri", "a public interface is /pub/{name}");
                NameStore.Named p = names.pub(seg[1]).orElseThrow(() -> M31Problem.notFound("no public interface " + abbreviate(seg[1])));
                return ResponseEntity.ok(serviceOrBinding(r, p.target(), "channel", p.uri() + "/messages"));
            }
            default -> throw M31Problem.badRequest("uri", "no M31 resource has the shape " + abbreviate(path));
        }
    }

    /** A live binding of this id (a channel moved to another channel-service shard) wins; else the service. */
    private Resolution serviceOrBinding(Resolution r, String id, String service, String uri) {
        var b = store.find(id);
        if (b.isPresent()) {
            if (Boolean.TRUE.equals(b.get().getGone())) throw M31Problem.gone(id + " is gone");
            if (b.get().getUrl() != null) return r.target(base(b.get()) + uri).binding(b.get());
        }
        return r.target(props.service(service) + uri);
    }

    // ---- aliases -------------------------------------------------------------------------

    @Override
    public ResponseEntity<Alias> bindAlias(String alias, Alias body) {
        checkAliasName(alias);
        if (body == null || body.getUri() == null || body.getUri().isBlank()) throw M31Problem.badRequest("uri", "uri is required");
        String uri = body.getUri().trim();
        String target = checkAliasTarget(uri);
        Caller who = caller();
        String owner = who == null ? "anonymous" : who.subject();
        NameStore.Named stored = names.putAlias(alias, uri, target, owner, current -> mayChange(who, current))
                .orElseThrow(() -> forbidden(who, "alias " + alias));
        return ResponseEntity.ok(view(stored));
    }

    @Override
    public ResponseEntity<Alias> lookupAlias(String alias) {
        return ResponseEntity.ok(view(names.alias(alias).orElseThrow(() -> M31Problem.notFound("no alias " + abbreviate(alias)))));
    }

    @Override
    public ResponseEntity<Void> unbindAlias(String alias) {
        NameStore.Named a = names.alias(alias).orElseThrow(() -> M31Problem.notFound("no alias " + abbreviate(alias)));
        Caller who = caller();
        if (!mayChange(who, a.owner())) throw forbidden(who, "alias " + alias);
        names.deleteAlias(alias);
        return ResponseEntity.noContent().build();
    }

    private static void checkAliasName(String alias) {
        if (alias == null || !alias.matches("^[a-z0-9][a-z0-9._-]{0,99}$")) {
            throw M31Problem.badRequest("alias", "an alias is [a-z0-9][a-z0-9._-]{0,99}");
        }
        if (RESERVED.contains(alias)) throw M31Problem.badRequest("alias", "'" + alias + "' is reserved");
    }

    /**
     * An alias names a resource URI: /fibrils/{id}…, /ch/{id}…, /fs/{space}…, /code/{fp}, /net/node={n}…;
     * checked like a request path (no dot segments, encoded slashes, …), and a fibril or node it
     * names must be bound (404) and alive (410). Returns the id the alias follows.
     */
    private String checkAliasTarget(String uri) {
        if (uri.length() > 2000) throw M31Problem.badRequest("uri", "uri is longer than 2000 characters");
        if (!uri.startsWith("/") || uri.contains("?") || uri.contains("#")) {
            throw M31Problem.badRequest("uri", "an alias names a resource path such as /fibrils/{id} (no query or fragment)");
        }
        String lower = uri.toLowerCase(Locale.ROOT);
        if (uri.contains("//") || uri.contains("\\") || lower.contains("%2f") || lower.contains("%5c") || lower.contains("%2e")
                || lower.contains("%00") || uri.chars().anyMatch(c -> c < 0x21 || c == 0x7f)) {
            throw M31Problem.badRequest("uri", "the uri has empty segments, encoded slashes or dots, or control characters");
        }
        String[] seg = uri.substring(1).split("/", -1);
        for (String x : seg) if (x.equals(".") || x.equals("..")) throw M31Problem.badRequest("uri", "dot segments are not allowed in " + abbreviate(uri));
        String target = seg.length > 1 ? seg[1] : null;
        switch (seg[0]) {
            case "fibrils" -> {
                if (target == null || target.isEmpty()) throw M31Problem.badRequest("uri", "an alias of a fibril names /fibrils/{id}");
                Ids.require(target, Ids.FIBRIL, "uri");
                live(target);
            }
            case "ch" -> {
                if (target == null || target.isEmpty()) throw M31Problem.badRequest("uri", "an alias of a channel names /ch/{id}");
                Ids.require(target, Ids.CHANNEL, "uri");
                var b = store.find(target);
                if (b.isPresent() && Boolean.TRUE.equals(b.get().getGone())) throw M31Problem.gone(target + " is gone");
            }
            case "net" -> {
                if (target == null || !target.startsWith("node=")) throw M31Problem.badRequest("uri", "an alias of a node names /net/node={name}");
                target = target.substring("node=".length());
                if (!NODE_NAME.matcher(target).matches()) throw M31Problem.badRequest("uri", "'" + abbreviate(target) + "' is not a node name");
                if (live(target).getKind() != Binding.KindEnum.NODE) throw M31Problem.notFound("no node " + target);
            }
            case "fs", "code" -> {
                if (target != null && target.isEmpty()) throw M31Problem.badRequest("uri", "empty segment in " + abbreviate(uri));
            }
            default -> throw M31Problem.badRequest("uri", "an alias names /fibrils, /ch, /fs, /code or /net/node= resources, not " + abbreviate(uri));
        }
        return target;
    }

    private static Alias view(NameStore.Named a) {
        return new Alias().name(a.name()).uri(a.uri()).id(a.target()).owner(a.owner()).created(a.created());
    }

    // ---- public interfaces ---------------------------------------------------------------

    @Override
    public ResponseEntity<PublicName> publish(String name, PublicName body) {
        if (body == null || body.getUri() == null) throw M31Problem.badRequest("uri", "uri is required: /ch/{id}");
        String uri = body.getUri().trim();
        if (!uri.startsWith("/ch/")) throw M31Problem.badRequest("uri", "a public interface exposes a channel: /ch/{id}");
        String channel = Ids.require(uri.substring("/ch/".length()), Ids.CHANNEL, "uri");
        Caller who = caller();
        checkChannelOwner(channel, who);
        String owner = who == null ? "anonymous" : who.subject();
        NameStore.Named stored = names.putPub(name, channel, owner, current -> mayChange(who, current))
                .orElseThrow(() -> forbidden(who, "public name " + name));
        return ResponseEntity.ok(pubView(stored));
    }

    @Override
    public ResponseEntity<PublicName> lookupPublic(String name) {
        return ResponseEntity.ok(pubView(names.pub(name).orElseThrow(() -> M31Problem.notFound("no public interface " + abbreviate(name)))));
    }

    @Override
    public ResponseEntity<Void> unpublish(String name) {
        NameStore.Named p = names.pub(name).orElseThrow(() -> M31Problem.notFound("no public interface " + abbreviate(name)));
        Caller who = caller();
        if (!mayChange(who, p.owner())) throw forbidden(who, "public name " + name);
        names.deletePub(name);
        return ResponseEntity.noContent().build();
    }

    /**
     * The channel must exist (404/410 otherwise) and, when channel-service reports an owner
     * ({@code owner} or {@code labels.owner}), be the caller's: only a channel's owner makes it public.
     */
    private void checkChannelOwner(String channel, Caller who) {
        var b = store.find(channel);
        if (b.isPresent() && Boolean.TRUE.equals(b.get().getGone())) throw M31Problem.gone(channel + " is gone");
        String base;
        try {
            base = b.isPresent() && b.get().getUrl() != null ? base(b.get()) : props.service("channel");
        } catch (IllegalStateException unset) {
            return; // no channel-service configured (a naming-only test): nothing to ask
        }
        JsonNode ch;
        try {
            ch = client.as(who).get(base + "/ch/" + channel, JsonNode.class);
        } catch (ServiceClient.RemoteProblem p) {
            if (p.status() == 404) throw M31Problem.notFound("no channel " + channel);
            if (p.status() == 410) throw M31Problem.gone(channel + " is gone");
            if (p.status() == 403) throw forbidden(who, "channel " + channel);
            throw M31Problem.unavailable("channel-service answered " + p.status() + " about " + channel);
        }
        String owner = ch == null ? null : ch.hasNonNull("owner") ? ch.get("owner").asString()
                : ch.path("labels").hasNonNull("owner") ? ch.path("labels").get("owner").asString() : null;
        if (owner != null && who != null && !who.isAdmin() && !owner.equals(who.subject())) {
            throw forbidden(who, "channel " + channel + " (it is " + owner + "'s)");
        }
    }

    private static PublicName pubView(NameStore.Named p) {
        return new PublicName().name(p.name()).uri(p.uri()).owner(p.owner()).created(p.created());
    }

    // ---- who may ------------------------------------------------------------------------

    /** The verified caller; null when naming runs without m31.internal.key (then nothing is checked). */
    private static Caller caller() {
        Caller who = Callers.current();
        if (who != null && who.isAnonymous()) throw new M31Problem(401, "unauthorized", "a token is required", null);
        return who;
    }

    private static boolean mayChange(Caller who, String owner) {
        return who == null || who.isAdmin() || who.subject().equals(owner);
    }

    private static M31Problem forbidden(Caller who, String what) {
        return new M31Problem(403, "forbidden", what + " belongs to someone else" + (who == null ? "" : "; " + who.subject() + " may not change it"), null);
    }

    /** Bindings are written by the mantle itself (nodes, channel-service) and admins, nobody else. */
    private static void requireMantle(String what) {
        Caller who = Callers.current();
        if (who != null && !who.isService() && !who.isAdmin()) {
            throw new M31Problem(403, "forbidden", what + " is the mantle's to do; " + who.subject() + " may not", null);
        }
    }

    // ---- nodes ---------------------------------------------------------------------------

    @Override
    public ResponseEntity<NodeList> listNodes() {
        Map<String, Node> liveness = liveness();
        NodeList list = new NodeList();
        for (Binding b : store.live(Binding.KindEnum.NODE)) {
            Node n = new Node().name(b.getId()).url(b.getUrl());
            if (liveness != null) {
                Node seen = liveness.get(b.getId());
                if (seen == null) {
                    n.alive(false).fibrils(0);
                } else {
                    n.alive(Boolean.TRUE.equals(seen.getAlive())).fibrils(seen.getFibrils()).lastSeen(seen.getLastSeen());
                    if (seen.getLabels() != null) n.labels(new HashMap<>(seen.getLabels()));
                }
            }
            list.addNodesItem(n);
        }
        return ResponseEntity.ok(list);
    }

    /** The scheduler's view of the nodes, or null when it does not answer in time. */
    private Map<String, Node> liveness() {
        String url;
        try {
            url = props.service("scheduler") + "/sched/nodes";
        } catch (IllegalStateException unset) {
            return null;
        }
        try {
            NodeList nl = client.getAsync(url, NodeList.class, LIVENESS_TIMEOUT)
                    .get(LIVENESS_TIMEOUT.toMillis() + 200, TimeUnit.MILLISECONDS);
            Map<String, Node> byName = new HashMap<>();
            if (nl != null) for (Node n : nl.getNodes()) byName.put(n.getName(), n);
            return byName;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } catch (Exception e) {
            log.debug("scheduler liveness unavailable from {}: {}", url, e.toString());
            return null;
        }
    }

    @Override
    public ResponseEntity<Node> describeNode(String node) {
        throw servedByNode(node);
    }

    @Override
    public ResponseEntity<FibrilList> listNodeFibrils(String node) {
        throw servedByNode(node);
    }

    private M31Problem servedByNode(String node) {
        return new M31Problem(HttpStatus.MISDIRECTED_REQUEST.value(), "served-by-node",
                "/net/node=" + node + "/… is served by the node itself: the gateway routes it there (resolve it with /names/resolve)", null);
    }

    // ---- helpers -------------------------------------------------------------------------

    private Binding live(String id) {
        Binding b = store.find(id).orElseThrow(() -> M31Problem.notFound("no binding " + abbreviate(id)));
        if (Boolean.TRUE.equals(b.getGone())) throw M31Problem.gone(id + " is gone");
        return b;
    }

    private static String base(Binding b) {
        String u = b.getUrl();
        if (u == null) throw M31Problem.unavailable(b.getId() + " is bound but has no url yet");
        return u.endsWith("/") ? u.substring(0, u.length() - 1) : u;
    }

    private static void checkId(String id, Binding.KindEnum kind) {
        switch (kind) {
            case FIBRIL -> Ids.require(id, Ids.FIBRIL, "id");
            case CHANNEL -> Ids.require(id, Ids.CHANNEL, "id");
            case NODE -> {
                if (!NODE_NAME.matcher(id).matches()) throw M31Problem.badRequest("id", "'" + abbreviate(id) + "' is not a node name ([A-Za-z0-9-]{1,63})");
            }
            case SPACE -> {
                if (!SPACE_NAME.matcher(id).matches()) throw M31Problem.badRequest("id", "'" + abbreviate(id) + "' is not a space name");
            }
        }
    }

    /** Ids that claim a typed prefix must carry a valid check character: a forged one is a 400, not a lookup. */
    private static void checkForged(String id) {
        if (id.startsWith(Ids.FIBRIL + "-")) Ids.require(id, Ids.FIBRIL, "id");
        else if (id.startsWith(Ids.CHANNEL + "-")) Ids.require(id, Ids.CHANNEL, "id");
    }

    private static void checkUrl(String url) {
        if (url == null || url.isBlank()) throw M31Problem.badRequest("url", "url is required");
        try {
            URI u = new URI(url);
            String scheme = u.getScheme();
            if (scheme == null || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https")) || u.getHost() == null) {
                throw M31Problem.badRequest("url", "url must be an absolute http(s) URL");
            }
            if (u.getRawQuery() != null || u.getRawFragment() != null) {
                throw M31Problem.badRequest("url", "url must be a base URL without query or fragment");
            }
        } catch (java.net.URISyntaxException e) {
            throw M31Problem.badRequest("url", "url is not a valid URL: " + e.getReason());
        }
    }

    private static String abbreviate(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "…" : s;
    }
}
