package dev.andromeda.gateway.route;

import dev.andromeda.gateway.auth.GatewaySigner;
import dev.andromeda.gateway.problem.GatewayProblem;
import dev.andromeda.gateway.problem.UpstreamProblem;
import io.netty.channel.ChannelOption;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.http.MediaType;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.web.reactive.function.client.WebClient;
import reactor.core.publisher.Mono;
import reactor.netty.http.client.HttpClient;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The gateway's look-ups of names in naming: aliases ({@code GET /names/{alias}}) and public
 * interfaces ({@code GET /names/pub/{name}}), each answering the M31 URI the name stands for.
 * Answers are reused for a short TTL (an alias binds an id, not a place: where the id lives now
 * is resolved afresh through its binding, by generation); failures are never cached, and
 * naming's problems (404 no such name, …) reach the client unchanged.
 */
public class NameLookups {

    private record Entry(Mono<String> uri, long created) {}

    private final String naming;
    private final Duration ttl;
    private final Duration timeout;
    private final JsonMapper json;
    private final GatewaySigner signer;
    private final WebClient client;
    private final Map<String, Entry> cache = new ConcurrentHashMap<>();

    public NameLookups(String namingUrl, Duration ttl, Duration timeout, JsonMapper json, GatewaySigner signer) {
        this.naming = namingUrl.endsWith("/") ? namingUrl.substring(0, namingUrl.length() - 1) : namingUrl;
        this.ttl = ttl;
        this.timeout = timeout;
        this.json = json;
        this.signer = signer;
        HttpClient http = HttpClient.create()
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(timeout.toMillis(), 5000))
                .responseTimeout(timeout);
        this.client = WebClient.builder().clientConnector(new ReactorClientHttpConnector(http)).build();
    }

    /** The URI alias {@code name} stands for. */
    public Mono<String> alias(String name) {
        return lookup("/names/" + name);
    }

    /** The channel URI ({@code /ch/{id}}) public interface {@code name} sends to. */
    public Mono<String> pub(String name) {
        return lookup("/names/pub/" + name);
    }

    private Mono<String> lookup(String path) {
        if (cache.size() > 50_000) cache.clear();
        Entry e = cache.compute(path, (k, old) -> old != null && System.nanoTime() - old.created() < ttl.toNanos() ? old
                : new Entry(fetch(path).cache(), System.nanoTime()));
        Entry used = e;
        return used.uri().doOnError(err -> cache.remove(path, used));
    }

    private Mono<String> fetch(String path) {
        String full = naming + path;
        return client.get().uri(URI.create(full))
                .accept(MediaType.APPLICATION_JSON, MediaType.APPLICATION_PROBLEM_JSON)
                .headers(h -> signer.signAsGateway(h, "GET", URI.create(full).getRawPath()))
                .exchangeToMono(resp -> resp.bodyToMono(byte[].class).defaultIfEmpty(new byte[0]).map(body -> {
                    int status = resp.statusCode().value();
                    if (status != 200) {
                        MediaType type = resp.headers().contentType().orElse(null);
                        if (status >= 400 && status < 500 && type != null && MediaType.APPLICATION_PROBLEM_JSON.isCompatibleWith(type)) {
                            throw new UpstreamProblem(status, type, body);
                        }
                        throw new GatewayProblem(502, "bad-gateway", BindingResolver.NAMING + " answered " + status + " for " + path);
                    }
                    JsonNode n;
                    try {
                        n = json.readTree(body);
                    } catch (RuntimeException bad) {
                        throw new GatewayProblem(502, "bad-gateway", BindingResolver.NAMING + " sent an unreadable name for " + path);
                    }
                    String uri = n.path("uri").asString("");
                    if (!uri.startsWith("/")) throw new GatewayProblem(502, "bad-gateway", BindingResolver.NAMING + " gave no uri for " + path);
                    return uri;
                }))
                .timeout(timeout.plusMillis(100))
                .onErrorMap(t -> !(t instanceof GatewayProblem) && !(t instanceof UpstreamProblem),
                        t -> t instanceof java.util.concurrent.TimeoutException
                                ? new GatewayProblem(504, "gateway-timeout", BindingResolver.NAMING + " did not answer in time")
                                : GatewayProblem.unreachable(BindingResolver.NAMING));
    }
}
