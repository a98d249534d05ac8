package dev.andromeda.gateway.route;

import dev.andromeda.gateway.problem.GatewayProblem;
import dev.andromeda.gateway.problem.UpstreamProblem;
import io.netty.channel.ChannelOption;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import org.springframework.http.MediaType;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.web.reactive.function.client.ClientResponse;
import org.springframework.web.reactive.function.client.WebClient;
import reactor.core.publisher.Mono;
import reactor.netty.http.client.HttpClient;
import tools.jackson.databind.json.JsonMapper;

/**
 * Resolves ids (fibrils, nodes) to the url that serves them, through naming
 * ({@code GET {naming}/names/bindings/{id}}), non-blocking. Resolutions are reused for a short
 * TTL; concurrent lookups of one id share a single call; failures are never cached. A caller
 * that finds a resolution stale (the target said 404/502 or could not be reached) evicts it
 * with {@link #evict}, naming the binding it used, so a newer entry is never thrown away.
 */
public class BindingResolver {

    public static final String NAMING = "naming-service";

    private final String naming;
    private final Duration ttl;
    private final Duration timeout;
    private final int maxEntries;
    private final JsonMapper json;
    private final WebClient client;
    private final Map<String, Entry> cache = new ConcurrentHashMap<>();
    private final dev.andromeda.gateway.auth.GatewaySigner signer;

    private static final class Entry {
        final Mono<Binding> lookup;
        final long created = System.nanoTime();
        volatile Binding value;

        Entry(Mono<Binding> source) {
            this.lookup = source.doOnNext(b -> value = b).cache();
        }
    }

    public BindingResolver(String namingUrl, Duration ttl, Duration timeout, int maxEntries, JsonMapper json) {
        this(namingUrl, ttl, timeout, maxEntries, json, new dev.andromeda.gateway.auth.GatewaySigner(null));
    }

    public BindingResolver(String namingUrl, Duration ttl, Duration timeout, int maxEntries, JsonMapper json,
                           dev.andromeda.gateway.auth.GatewaySigner signer) {
        this.signer = signer;
        this.naming = namingUrl.endsWith("/") ? namingUrl.substring(0, namingUrl.length() - 1) : namingUrl;
        this.ttl = ttl;
        this.timeout = timeout;
        this.maxEntries = maxEntries;
        this.json = json;
        HttpClient http = HttpClient.create()
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(timeout.toMillis(), 5000))
                .responseTimeout(timeout);
        this.client = WebClient.builder().clientConnector(new ReactorClientHttpConnector(http)).build();
    }

    /** The binding of {@code id}, checked to be of {@code kind}, alive, and to carry a url. */
    public Mono<Binding> resolve(String kind, String id) {
        String key = kind + ":" + id;
        Entry e = cache.get(key);
        if (e == null || System.nanoTime() - e.created > ttl.toNanos()) {
            if (cache.size() >= maxEntries) prune();
            Entry fresh = new Entry(lookup(kind, id));
            // a lookup started by someone else in the meantime is just as good
            e = (e == null) ? cacheIfAbsent(key, fresh) : (cache.replace(key, e, fresh) ? fresh : cache.getOrDefault(key, fresh));
        }
        Entry used = e;
        return used.lookup.doOnError(err -> cache.remove(key, used));
    }

    private Entry cacheIfAbsent(String key, Entry fresh) {
        Entry prior = cache.putIfAbsent(key, fresh);
        return prior == null ? fresh : prior;
    }

    /** Forgets the resolution of {@code id} if it is still the one that failed. */
    public void evict(String kind, String id, Binding failed) {
        String key = kind + ":" + id;
        cache.computeIfPresent(key, (k, e) -> {
            Binding b = e.value;
            return (b == null || failed == null || b.gen() <= failed.gen()) ? null : e;
        });
    }

    int size() { return cache.size(); }

    private void prune() {
        long now = System.nanoTime();
        cache.entrySet().removeIf(en -> now - en.getValue().created > ttl.toNanos());
        if (cache.size() >= maxEntries) cache.clear();
    }

    private Mono<Binding> lookup(String kind, String id) {
        return client.get()
                .uri(naming + "/names/bindings/{id}", id)
                .accept(MediaType.APPLICATION_JSON, MediaType.APPLICATION_PROBLEM_JSON)
                .headers(h -> signer.signAsGateway(h, "GET", java.net.URI.create(naming).getRawPath().replaceAll("/$", "")
                        + "/names/bindings/" + org.springframework.web.util.UriUtils.encodePathSegment(id, java.nio.charset.StandardCharsets.UTF_8)))
                .exchangeToMono(resp -> resp.bodyToMono(byte[].class).defaultIfEmpty(new byte[0])
                        .map(body -> interpret(kind, id, resp, body)))
                .timeout(timeout.plusMillis(100))
                .onErrorMap(TimeoutException.class,
                        t -> new GatewayProblem(504, "gateway-timeout", NAMING + " did not answer in time"))
                .onErrorMap(t -> !(t instanceof GatewayProblem) && !(t instanceof UpstreamProblem),
                        t -> isTimeout(t) ? new GatewayProblem(504, "gateway-timeout", NAMING + " did not answer in time")
                                : GatewayProblem.unreachable(NAMING));
    }

    private static boolean isTimeout(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof TimeoutException || c.getClass().getSimpleName().contains("Timeout")) return true;
        }
        return false;
    }

    private Binding interpret(String kind, String id, ClientResponse resp, byte[] body) {
        int status = resp.statusCode().value();
        MediaType type = resp.headers().contentType().orElse(null);
        if (status != 200) {
            if (status >= 400 && type != null && MediaType.APPLICATION_PROBLEM_JSON.isCompatibleWith(type)) {
                throw new UpstreamProblem(status, type, body);
            }
            if (status == 404) throw new GatewayProblem(404, "not-found", "no " + kind + " " + id);
            if (status == 410) throw new GatewayProblem(410, "gone", kind + " " + id + " is gone");
            if (status == 400) throw new GatewayProblem(400, "bad-request", "not a valid " + kind + " id: " + id);
            throw new GatewayProblem(502, "bad-gateway", NAMING + " answered " + status + " for " + id);
        }
        Binding b;
        try {
            b = json.readValue(body, Binding.class);
        } catch (RuntimeException e) {
            throw new GatewayProblem(502, "bad-gateway", NAMING + " sent an unreadable binding for " + id);
        }
        if (b == null) throw new GatewayProblem(502, "bad-gateway", NAMING + " sent an empty binding for " + id);
        if (b.kind() != null && !b.kind().equalsIgnoreCase(kind)) {
            throw new GatewayProblem(404, "not-found", id + " is a " + b.kind() + ", not a " + kind);
        }
        if (b.isGone()) throw new GatewayProblem(410, "gone", kind + " " + id + " is gone");
        if (b.url() == null || b.url().isBlank()) {
            throw new GatewayProblem(502, "bad-gateway", NAMING + " gave no url for " + id);
        }
        return b;
    }
}
