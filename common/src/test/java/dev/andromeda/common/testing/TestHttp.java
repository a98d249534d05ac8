package dev.andromeda.common.testing;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** A plain HTTP client for service tests: real requests against the running service, answers parsed when JSON. */
public final class TestHttp {

    public record Response(int status, String contentType, JsonNode json, String body) {
        /** The "field" of a problem answer, or null. */
        public String field() {
            return json != null && json.hasNonNull("field") ? json.get("field").asString() : null;
        }
    }

    private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    public static final JsonMapper JSON = JsonMapper.builder().build();

    private final String base;

    public TestHttp(int port) { this.base = "http://localhost:" + port; }

    /** The service's base URL, for requests this client does not make (streams, odd headers). */
    public String base() { return base; }

    public Response get(String path) { return send("GET", path, null); }
    public Response put(String path, String json) { return send("PUT", path, json); }
    public Response post(String path, String json) { return send("POST", path, json); }
    public Response postText(String path, String text) { return request("POST", path, text, "text/plain; charset=UTF-8", Map.of()); }
    public Response delete(String path) { return send("DELETE", path, null); }

    public Response send(String method, String path, String json) {
        return request(method, path, json, "application/json", Map.of());
    }

    /** A JSON request carrying an Idempotency-Key. */
    public Response sendIdempotent(String method, String path, String json, String idempotencyKey) {
        return request(method, path, json, "application/json", Map.of("Idempotency-Key", idempotencyKey));
    }

    public Response request(String method, String path, String body, String contentType, Map<String, String> headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(90))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null && contentType != null) b.header("Content-Type", contentType);
        headers.forEach(b::header);
        try {
            HttpResponse<String> r = CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
            JsonNode node = null;
            if (!r.body().isEmpty()) {
                try { node = JSON.readTree(r.body()); } catch (RuntimeException notJson) { /* keep the text */ }
            }
            return new Response(r.statusCode(), r.headers().firstValue("Content-Type").orElse(""), node, r.body());
        } catch (Exception e) {
            throw new RuntimeException(method + " " + path, e);
        }
    }

    public static String json(Object o) { return JSON.writeValueAsString(o); }

    /** A value for a query string or a path segment. */
    public static String enc(String s) { return java.net.URLEncoder.encode(s, java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20"); }
}
