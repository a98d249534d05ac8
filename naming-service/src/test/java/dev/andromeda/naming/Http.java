package dev.andromeda.naming;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** A plain HTTP client for tests: real requests against the running service. */
final class Http {

    record Response(int status, String contentType, JsonNode json, String body) {}

    private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final String base;

    Http(int port) { this.base = "http://localhost:" + port; }

    Response get(String path) { return send("GET", path, null); }
    Response put(String path, String json) { return send("PUT", path, json); }
    Response post(String path, String json) { return send("POST", path, json); }
    Response delete(String path) { return send("DELETE", path, null); }

    Response send(String method, String path, String json) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30))
                .method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
        if (json != null) b.header("Content-Type", "application/json");
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

    static String json(Object o) { return JSON.writeValueAsString(o); }
}
