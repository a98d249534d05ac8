package dev.andromeda.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code ./m31 up} a second time on the same data: every process starts on new ports, the stored
 * data is still there, and the nodes are found where they listen now (a node that came back at a
 * new address — a new port here, a rescheduled pod in a cluster — takes its name over in naming);
 * and while one runs on a directory, no other constellation may start on it.
 */
class RestartE2ETest {

    static final HttpClient http = HttpClient.newHttpClient();
    static final JsonMapper json = JsonMapper.builder().build();

    @Test
    void aConstellationStartedAgainOnItsDataKeepsItAndFindsItsNodesAtTheirNewAddresses() throws Exception {
        Path home = Files.createTempDirectory("m31-restart-");
        Constellation.Options options = new Constellation.Options(home, 0, List.of("E0", "E1"), true);
        Map<String, String> before = new HashMap<>();
        try (Constellation c = Constellation.start(options)) {
            call(c, "PUT", "/fs/kept", "{\"key\":\"k\",\"attrs\":{\"n\":\"Int\"}}", 200, 201);
            call(c, "PUT", "/fs/kept/one", "{\"attrs\":{\"n\":1}}", 200, 201);
            for (String n : List.of("E0", "E1")) before.put(n, c.url(n));
        }
        try (Constellation c = Constellation.start(options)) {
            assertThat(c.url("E0")).isNotEqualTo(before.get("E0"));
            // the store kept what was written before the restart
            assertThat(call(c, "GET", "/fs/kept/one", null, 200).path("attrs").path("n").asInt()).isEqualTo(1);
            // while it runs (or stops), the directory is its own: another `m31 up` on it is refused
            // at once, naming the holder, and touches nothing; so is another start in this JVM
            Process other = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), "dev.andromeda.local.cli.M31Command",
                    "--home", home.toString(), "--port", "0", "up").redirectErrorStream(true).start();
            boolean ended = other.waitFor(60, java.util.concurrent.TimeUnit.SECONDS);
            if (!ended) other.destroyForcibly();
            String said = new String(other.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertThat(ended).as(said).isTrue();
            assertThat(other.exitValue()).as(said).isEqualTo(1);
            assertThat(said).contains("is in use by another constellation (pid " + ProcessHandle.current().pid() + ",");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> Constellation.start(options)).isInstanceOf(HomeLock.InUse.class);
            assertThat(call(c, "GET", "/fs/kept/one", null, 200).path("attrs").path("n").asInt()).isEqualTo(1);
            // naming lists each node at the address it serves now (this is what moves and kills use)
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            Map<String, String> listed = Map.of();
            while (System.nanoTime() < deadline) {
                listed = new HashMap<>();
                for (JsonNode n : call(c, "GET", "/net", null, 200).path("nodes")) listed.put(n.path("name").asString(), n.path("url").asString());
                if (c.url("E0").equals(listed.get("E0")) && c.url("E1").equals(listed.get("E1"))) break;
                Thread.sleep(200);
            }
            assertThat(listed).containsEntry("E0", c.url("E0")).containsEntry("E1", c.url("E1"));
            // so a fibril moves from one to the other
            String source = "var sys = require('sys'); var at = sys.self().node; sys.migrate('E1'); [at, sys.self().node]";
            String id = call(c, "POST", "/fibrils", json.writeValueAsString(Map.of("source", source, "node", "E0")), 201).path("id").asString();
            JsonNode done = call(c, "GET", "/fibrils/" + id + "?wait=30", null, 200);
            assertThat(done.path("state").asString()).as(done.toString()).isEqualTo("done");
            assertThat(done.path("result").toString()).isEqualTo("[\"E0\",\"E1\"]");
        } finally {
            try (var files = Files.walk(home)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    static JsonNode call(Constellation c, String method, String path, String body, Integer... expected) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(c.gatewayUrl() + path)).timeout(Duration.ofSeconds(60))
                .header("Authorization", "Bearer " + c.token())
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) b.header("Content-Type", "application/json");
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(method + " " + path + ": " + r.body()).isIn((Object[]) expected);
        return r.body().isEmpty() ? json.nullNode() : json.readTree(r.body());
    }
}
