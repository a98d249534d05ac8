package dev.andromeda.common.http;

import dev.andromeda.common.problem.M31Problem;
import dev.andromeda.common.security.Caller;
import dev.andromeda.common.security.InternalIdentity;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * How services and nodes call each other: JSON over HTTP/1.1 on one shared connection pool,
 * blocking for request threads and asynchronous for the nucleus (a parked fibril holds no
 * thread while its request is in flight). A problem answered by the callee comes back as a
 * {@link RemoteProblem} with the callee's status and detail, so it can be passed on as is.
 * With {@code m31.internal.key} set, every request carries a signed {@link InternalIdentity#HEADER}
 * naming this service (or, through {@link #as}, the caller it acts for).
 */
public class ServiceClient {

    private static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

    private final HttpClient http;
    private final JsonMapper json;
    private final InternalIdentity signer;
    private final Caller caller;

    /** A client that signs nothing (no {@code m31.internal.key}). */
    public ServiceClient(JsonMapper json) {
        this(json, null, null);
    }

    /**
     * A client that signs every request with {@code signer} (when not null) as {@code self}: the
     * {@link InternalIdentity#HEADER} the callee's {@code InternalIdentityFilter} verifies.
     */
    public ServiceClient(JsonMapper json, InternalIdentity signer, Caller self) {
        this(HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5))
                .build(), json, signer, self);
        if (signer != null && self == null) throw new IllegalArgumentException("a signing client needs its own identity");
    }

    private ServiceClient(HttpClient http, JsonMapper json, InternalIdentity signer, Caller caller) {
        this.http = http;
        this.json = json;
        this.signer = signer;
        this.caller = caller;
    }

    public JsonMapper json() { return json; }

    /**
     * The same client (same connections) signing as {@code who} instead of this service: a node
     * acting for the user who spawned a fibril, a service acting for the caller of the request it
     * serves ({@code Callers.of(request)}). Without a signer (no internal key) it is this client.
     * {@code via} is set to this client's own identity, so the callee sees who relayed it.
     */
    public ServiceClient as(Caller who) {
        if (signer == null || who == null) return this;
        String relay = caller == null ? null : caller.subject();
        return new ServiceClient(http, json, signer, who.via(relay));
    }

    /** Who this client signs as (null when it signs nothing). */
    public Caller identity() { return signer == null ? null : caller; }

    /** The header value for one request, or null when this client signs nothing; for callers with their own HTTP client. */
    public String identityHeader(String method, String url) {
        return signer == null ? null : signer.sign(caller, method, URI.create(url).getRawPath());
    }

    public <T> T get(String url, Class<T> type) {
        return join(getAsync(url, type, DEFAULT_TIMEOUT));
    }

    public <T> T post(String url, Object body, Class<T> type) {
        return join(sendAsync("POST", url, body, type, DEFAULT_TIMEOUT));
    }

    public <T> T put(String url, Object body, Class<T> type) {
        return join(sendAsync("PUT", url, body, type, DEFAULT_TIMEOUT));
    }

    public void delete(String url) {
        join(sendAsync("DELETE", url, null, Void.class, DEFAULT_TIMEOUT));
    }

    public <T> CompletableFuture<T> getAsync(String url, Class<T> type, Duration timeout) {
        return sendAsync("GET", url, null, type, timeout);
    }

    /** Sends {@code body} as JSON (a String is sent as text/plain); maps the answer to {@code type}. */
    public <T> CompletableFuture<T> sendAsync(String method, String url, Object body, Class<T> type, Duration timeout) {
        return sendAsync(method, url, body, type, timeout, java.util.Map.of());
    }

    /** As above, with request headers (an Idempotency-Key, an identity). */
    public <T> CompletableFuture<T> sendAsync(String method, String url, Object body, Class<T> type, Duration timeout,
                                              java.util.Map<String, String> headers) {
        HttpRequest.BodyPublisher publisher;
        String contentType;
        if (body == null) {
            publisher = HttpRequest.BodyPublishers.noBody();
            contentType = null;
        } else if (body instanceof Raw raw) {
            publisher = HttpRequest.BodyPublishers.ofByteArray(raw.bytes());
            contentType = raw.contentType();
        } else if (body instanceof String s) {
            publisher = HttpRequest.BodyPublishers.ofString(s, StandardCharsets.UTF_8);
            contentType = "text/plain; charset=utf-8";
        } else {
            publisher = HttpRequest.BodyPublishers.ofByteArray(json.writeValueAsBytes(body));
            contentType = "application/json";
        }
        HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create(url)).timeout(timeout).method(method, publisher)
                .header("Accept", "application/json, text/plain, application/problem+json");
        if (contentType != null) rb.header("Content-Type", contentType);
        headers.forEach(rb::header);
        if (signer != null && !headers.containsKey(InternalIdentity.HEADER)) {
            rb.header(InternalIdentity.HEADER, signer.sign(caller, method, URI.create(url).getRawPath()));
        }
        return http.sendAsync(rb.build(), HttpResponse.BodyHandlers.ofByteArray())
                .handle((resp, err) -> {
                    if (err != null) throw unreachable(method, url, err);
                    return decode(method, url, resp, type);
                });
    }

    @SuppressWarnings("unchecked")
    private <T> T decode(String method, String url, HttpResponse<byte[]> resp, Class<T> type) {
        int status = resp.statusCode();
        if (status >= 400) {
            String detail = "HTTP " + status + " from " + method + " " + url;
            String field = null;
            try {
                JsonNode problem = json.readTree(resp.body());
                if (problem.hasNonNull("detail")) detail = problem.get("detail").asString();
                if (problem.hasNonNull("field")) field = problem.get("field").asString();
            } catch (RuntimeException notJson) {
                // keep the generic detail: the body was not a problem document
            }
            RemoteProblem p = new RemoteProblem(status, detail, field, url);
            resp.headers().firstValue("Retry-After").ifPresent(p::retryAfter);
            throw p;
        }
        if (type == Void.class || resp.body().length == 0) return null;
        if (type == String.class) return (T) new String(resp.body(), StandardCharsets.UTF_8);
        if (type == byte[].class) return (T) resp.body();
        return json.readValue(resp.body(), type);
    }

    private static RuntimeException unreachable(String method, String url, Throwable err) {
        Throwable cause = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
        if (cause instanceof M31Problem p) return p;
        if (cause instanceof HttpTimeoutException) {
            return new M31Problem(504, "upstream-timeout", "timed out: " + method + " " + url, null);
        }
        if (cause instanceof ConnectException || cause instanceof IOException) {
            return M31Problem.unavailable("cannot reach " + URI.create(url).getAuthority() + " (" + cause.getClass().getSimpleName() + ")");
        }
        return new CompletionException(cause);
    }

    private static <T> T join(CompletableFuture<T> f) {
        try {
            return f.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException re) throw re;
            throw e;
        }
    }

    /** A body sent as it is, with its own content type (an NDJSON batch). */
    public record Raw(byte[] bytes, String contentType) {}

    /** A problem answered by another service, carried on with its status (and its Retry-After, when it said one). */
    public static class RemoteProblem extends M31Problem {
        private final String url;
        private int retryAfterSeconds = -1;

        public RemoteProblem(int status, String detail, String field, String url) {
            super(status, status == 404 ? "not-found" : status == 410 ? "gone" : "upstream", detail, field);
            this.url = url;
        }

        public RemoteProblem(int status, String detail, String field, String url, int retryAfterSeconds) {
            this(status, detail, field, url);
            this.retryAfterSeconds = retryAfterSeconds;
        }

        public String url() { return url; }

        /** Seconds the callee asked to wait before retrying (Retry-After), or -1. */
        public int retryAfterSeconds() { return retryAfterSeconds; }

        void retryAfter(String header) {
            try {
                retryAfterSeconds = Math.max(0, Integer.parseInt(header.trim()));
            } catch (NumberFormatException httpDate) {
                retryAfterSeconds = 1; // a date: not worth parsing for a hint
            }
        }
    }
}
