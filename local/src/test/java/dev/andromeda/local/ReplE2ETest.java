package dev.andromeda.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.andromeda.local.repl.Repl;
import dev.andromeda.local.repl.ReplSession;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The REPL against a real constellation, through the gateway with the generated client: each
 * piece of source is run by the session's fibril in one global scope, which moves with it.
 */
class ReplE2ETest extends ConstellationTestBase {


    static ReplSession open(String node) throws Exception {
        return ReplSession.open(constellation.gatewayUrl(), constellation.token(), node);
    }

    @Test
    void definitionsStayPrintsComeFirstAndErrorsAreNamed() throws Exception {
        try (ReplSession s = open(null)) {
            assertThat(s.evaluate("var base = 40").value()).isEqualTo("undefined");
            assertThat(s.evaluate("function add(n) {\n  return base + n;\n}").value()).isEqualTo("undefined");
            List<String> live = new ArrayList<>();
            ReplSession.Answer a = s.evaluate("print('adding', {n: 2}); print([1, 'two']); add(2)", live::add);
            assertThat(a.value()).isEqualTo("42");
            assertThat(a.printed()).containsExactly("adding {\"n\":2}", "[1,\"two\"]");
            assertThat(live).isEqualTo(a.printed());
            assertThat(s.evaluate("'a string'").value()).isEqualTo("\"a string\"");
            assertThat(s.evaluate("add").value()).isEqualTo("[Function: add]");
            // a cycle is shown as such (it was "[object Object]"); an object seen twice but not in a cycle is shown twice
            assertThat(s.evaluate("var cyc = {a: 1, l: [2]}; cyc.self = cyc; cyc.l.push(cyc); cyc").value())
                    .isEqualTo("{\"a\":1,\"l\":[2,\"[Circular]\"],\"self\":\"[Circular]\"}");
            assertThat(s.evaluate("var one = {n: 1}; [one, {x: one}]").value()).isEqualTo("[{\"n\":1},{\"x\":{\"n\":1}}]");
            // an error is the line's answer; the session and what it holds go on
            ReplSession.Answer bad = s.evaluate("missing(1)");
            assertThat(bad.failed()).isTrue();
            assertThat(bad.error()).startsWith("ReferenceError").contains("missing");
            assertThat(s.evaluate("var = 3").error()).startsWith("SyntaxError");
            assertThat(s.evaluate("add(-40)").value()).isEqualTo("0");
            // a session lives for hours, not a fibril's default 30 minutes
            assertThat(s.fibril().getWallClock()).isEqualTo(ReplSession.SESSION_WALL_CLOCK.toSeconds());
        }
        // more than a node allows is a 400 naming wallClock, with plain HTTP through the gateway
        HttpResponse<String> tooLong = http.send(HttpRequest.newBuilder(URI.create(constellation.gatewayUrl() + "/fibrils"))
                .header("Authorization", "Bearer " + constellation.token()).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"source\":\"1\",\"wallClock\":31536000}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(tooLong.statusCode()).as(tooLong.body()).isEqualTo(400);
        assertThat(json.readTree(tooLong.body()).path("field").asString()).isEqualTo("wallClock");
    }

    @Test
    void theSessionUsesTheStoreAndSpawnsAsItsUserAndWhatItWritesIsThereForCurl() throws Exception {
        try (ReplSession s = open(null)) {
            s.evaluate("fs.mkdir('repl_people', {key: 'name', attrs: {age: 'Int'}})");
            assertThat(s.evaluate("fs.put('repl_people', 'ada', {age: 36}); fs.get('repl_people', 'ada').age").value()).isEqualTo("36");
            // a missing object is null; a space that does not exist (a typo) is an error, not a null
            assertThat(s.evaluate("fs.get('repl_people', 'nobody')").value()).isEqualTo("null");
            assertThat(s.evaluate("fs.get('repl_peple', 'ada')").error()).contains("no space repl_peple");
            assertThat(s.evaluate("var kid = sys.spawn(function (n) { return n * 2; }, [21]); kid[1].recv().ok").value()).isEqualTo("42");
            // the same object, seen with plain HTTP through the gateway
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(constellation.gatewayUrl() + "/fs/repl_people?age.gt=30&fmt=JSON"))
                    .header("Authorization", "Bearer " + constellation.token()).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode rows = json.readTree(r.body());
            assertThat(rows).hasSize(1);
            assertThat(rows.get(0).path("key").asString()).isEqualTo("ada");
            // it was made by the user the REPL signed in as
            JsonNode meta = json.readTree(http.send(HttpRequest.newBuilder(URI.create(constellation.gatewayUrl() + "/fs/repl_people?meta"))
                    .header("Authorization", "Bearer " + constellation.token()).build(), HttpResponse.BodyHandlers.ofString()).body());
            assertThat(meta.path("labels").path("owner").asString()).isEqualTo("admin");
        }
    }

    @Test
    void theSessionMovesToAnotherNodeWithEverythingItDefined() throws Exception {
        try (ReplSession s = open("E0")) {
            s.evaluate("var seen = []; function note() { seen.push(sys.self().node); return seen; }");
            // a line that failed leaves a caught error in the session's state, which must travel too
            assertThat(s.evaluate("null.x").error()).startsWith("TypeError");
            s.evaluate("var kept; try { require('nope'); } catch (e) { kept = e; }");
            assertThat(s.evaluate("note()").value()).isEqualTo("[\"E0\"]");
            assertThat(s.evaluate("sys.migrate('E1'); note()").value()).isEqualTo("[\"E0\",\"E1\"]");
            assertThat(s.fibril().getNode()).isEqualTo("E1");
            assertThat(s.fibril().getGeneration()).isEqualTo(2L);
            // and the next lines run there, with the same state
            assertThat(s.evaluate("note().length").value()).isEqualTo("3");
            assertThat(s.evaluate("kept instanceof Error && kept.message.length > 0").value()).isEqualTo("true");
        }
    }

    @Test
    void anInterruptStopsARunawayLineAndAFreshSessionStarts() throws Exception {
        try (ReplSession s = open(null)) {
            s.evaluate("var kept = 1");
            String first = s.fibrilId();
            CompletableFuture<ReplSession.Answer> running = CompletableFuture.supplyAsync(() -> {
                try {
                    return s.evaluate("for (;;) { sys.sleep(50); }");
                } catch (Exception e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            });
            Thread.sleep(500);
            long t0 = System.nanoTime();
            s.interrupt();
            assertThatThrownBy(() -> running.get(8, TimeUnit.SECONDS)).hasCauseInstanceOf(ReplSession.SessionEnded.class);
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(8));
            assertThat(s.fibril().getState().getValue()).isEqualTo("killed");
            s.restart();
            assertThat(s.fibrilId()).isNotEqualTo(first);
            ReplSession.Answer fresh = s.evaluate("typeof kept");
            assertThat(fresh.value()).as(fresh.error()).isEqualTo("\"undefined\"");
            assertThat(s.evaluate("6 * 7").value()).isEqualTo("42");
        }
    }

    @Test
    void fromAPipeWholeUnitsAreReadAcrossLinesAndAFailureSetsTheStatus() throws Exception {
        java.nio.file.Path lib = java.nio.file.Files.createTempFile("m31-repl-lib-", ".js");
        java.nio.file.Files.writeString(lib, "var twice = function (n) { return 2 * n; };\nfunction thrice(n) { return 3 * n; }\n");
        String script = """
                var xs = [3, 1, 2]
                function sorted(a) {
                  return a.slice().sort(function (p, q) {
                    return p - q;
                  });
                }
                sorted(xs)
                .session
                nope()
                xs.length
                .load %s
                twice(thrice(xs.length))
                .load /no/such/file.js
                """.formatted(lib);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = new Repl(constellation.gatewayUrl(), constellation.token(), null)
                .piped(new ByteArrayInputStream(script.getBytes(StandardCharsets.UTF_8)),
                        new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        java.nio.file.Files.delete(lib);
        List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
        assertThat(lines).hasSize(7);
        assertThat(lines.subList(0, 3)).containsExactly("undefined", "undefined", "[1,2,3]");
        assertThat(lines.get(3)).startsWith("fibril fb-").contains(" on node E");
        assertThat(lines.get(4)).isEqualTo("3");
        // .load ran the file in the session: what it defined is there
        assertThat(lines.subList(5, 7)).containsExactly("undefined", "18");
        assertThat(err.toString(StandardCharsets.UTF_8)).startsWith("ReferenceError").contains("nope")
                .contains("cannot read /no/such/file.js: no such file");
        assertThat(status).isEqualTo(1);
    }

    /**
     * A REPL stopped from outside (its terminal closed, SIGHUP; or SIGTERM) ends its session on the
     * way out: the session asks for hours of wall clock, and would otherwise sit parked that long.
     */
    @Test
    void aReplStoppedFromOutsideEndsItsSession() throws Exception {
        Process repl = new ProcessBuilder(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "dev.andromeda.local.cli.M31Command",
                "repl", "--url", constellation.gatewayUrl(), "--token", constellation.token()).redirectErrorStream(true).start();
        String id;
        try {
            var in = repl.outputWriter(StandardCharsets.UTF_8);
            var out = repl.inputReader(StandardCharsets.UTF_8);
            in.write("20 + 22\n.session\n");
            in.flush();
            assertThat(out.readLine()).isEqualTo("42");
            String session = out.readLine();
            assertThat(session).startsWith("fibril fb-");
            id = session.split(" ")[1];
            assertThat(state(id)).isEqualTo("parked");
        } finally {
            // SIGTERM (what a closing terminal's SIGHUP does to the JVM too), its input left open:
            // Process.destroy() would also close the pipe, and the REPL would end at that end of input
            repl.toHandle().destroy();
        }
        boolean ended = repl.waitFor(30, TimeUnit.SECONDS);
        if (!ended) repl.destroyForcibly();
        assertThat(ended).isTrue();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!"killed".equals(state(id)) && System.nanoTime() < deadline) Thread.sleep(200);
        assertThat(state(id)).isEqualTo("killed");
    }

    private static String state(String fibril) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(constellation.gatewayUrl() + "/fibrils/" + fibril))
                .header("Authorization", "Bearer " + constellation.token()).build(), HttpResponse.BodyHandlers.ofString());
        return json.readTree(r.body()).path("state").asString();
    }

    @Test
    void aTokenThatIsNotValidIsRefusedAtTheGateway() {
        assertThatThrownBy(() -> ReplSession.open(constellation.gatewayUrl(), "not-a-token", null))
                .isInstanceOf(dev.andromeda.client.ApiException.class)
                .satisfies(e -> assertThat(((dev.andromeda.client.ApiException) e).getCode()).isEqualTo(401));
    }
}
