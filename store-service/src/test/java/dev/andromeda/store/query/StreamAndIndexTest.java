package dev.andromeda.store.query;

import dev.andromeda.common.testing.TestHttp;
import dev.andromeda.engines.SharedEngines;
import dev.andromeda.store.StoreTestBase;
import dev.andromeda.store.space.SpaceCatalog;
import dev.andromeda.store.space.SpaceType;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.jdbc.core.JdbcTemplate;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class StreamAndIndexTest extends StoreTestBase {

    private static final Logger log = LoggerFactory.getLogger(StreamAndIndexTest.class);

    @Autowired JdbcTemplate jdbc;
    @Autowired SpaceCatalog catalog;
    @Autowired JsonMapper json;

    @Test
    void ndjsonStreamsFiftyThousandRowsInOrder() throws Exception {
        assertThat(http.put("/fs/stream", """
                {"key":"id","attrs":{"n":"Int"},"opts":{"partitions":4}}""").status()).isEqualTo(201);
        List<Object> invs = new ArrayList<>();
        for (int i = 0; i < 50_000; i++) {
            invs.add(Map.of("key", String.format("id%06d", i), "ops", Map.of("n", Map.of("op", "set", "n", i))));
        }
        assertThat(http.post("/fs/stream:invoke", TestHttp.json(Map.of("batchId", "fill", "invocations", invs))).status()).isEqualTo(200);

        HttpRequest req = HttpRequest.newBuilder(URI.create(http.base() + "/fs/stream?fmt=NDJSON&limit=100000&sort=n")).build();
        HttpResponse<java.io.InputStream> r = HttpClient.newHttpClient().send(req, HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("application/x-ndjson");
        assertThat(r.headers().firstValue("Content-Length")).isEmpty(); // streamed, not buffered whole
        int lines = 0;
        long t0 = System.nanoTime();
        try (var in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                JsonNode o = TestHttp.JSON.readTree(line);
                assertThat(o.get("attrs").get("n").asInt()).isEqualTo(lines);
                if (lines == 0) {
                    assertThat(o.get("key").asString()).isEqualTo("id000000");
                    assertThat(o.get("attrs").get("id").asString()).isEqualTo("id000000");
                    assertThat(o.get("version").asLong()).isEqualTo(1);
                    assertThat(o.get("modified").asString()).isNotBlank();
                }
                lines++;
            }
        }
        log.info("NDJSON: {} rows read in {} ms", lines, (System.nanoTime() - t0) / 1_000_000);
        assertThat(lines).isEqualTo(50_000);

        // filters work the same as in JSON, and errors come before the stream
        var filtered = http.get("/fs/stream?fmt=NDJSON&n.ge=49990");
        assertThat(filtered.body().lines().count()).isEqualTo(10);
        assertThat(http.get("/fs/stream?fmt=NDJSON&nope=1").status()).isEqualTo(400);
        assertThat(http.get("/fs/nosuch?fmt=NDJSON").status()).isEqualTo(404);
        // the same objects as fmt=JSON
        var asJson = http.get("/fs/stream?n.ge=49990");
        assertThat(asJson.json().size()).isEqualTo(10);
        assertThat(TestHttp.JSON.readTree(filtered.body().lines().findFirst().orElseThrow()).get("attrs"))
                .isEqualTo(asJson.json().get(0).get("attrs"));
    }

    @Test
    void aNumericRangeFilterUsesTheExpressionIndex() {
        assertThat(http.put("/fs/big", """
                {"key":"word","attrs":{"freq":"Int","w":"Float"}}""").status()).isEqualTo(201);
        jdbc.update("insert into sp_big (key, attrs, labels) select 'w' || i, jsonb_build_object('freq', i, 'w', i / 4.0), "
                // a quarter of the objects without labels: the label indexes (partial) leave them out
                + "case when i % 4 = 2 then '{}'::jsonb else jsonb_build_object('lang', case when i % 1000 = 0 then 'en' else 'x' || (i % 5000) end, 'path', '/d' || (i % 1000) || '/' || i) end "
                + "from generate_series(1, 200000) i");
        jdbc.execute("analyze sp_big");
        SpaceType t = catalog.require("big");
        for (String filter : List.of("freq.gt", "w.le")) {
            String value = filter.startsWith("freq") ? "199000" : "100";
            SpaceQuery q = SpaceQuery.build(t, Map.of(filter, new String[] {value}), null, null, json);
            List<String> plan = jdbc.queryForList("explain " + q.sql(), String.class, q.args().toArray());
            log.info("plan of {}={}: {}", filter, value, String.join(" | ", plan));
            assertThat(String.join("\n", plan)).contains("Index").contains("sp_big_i");
        }
        var r = http.get("/fs/big?freq.gt=199990&sort=-freq");
        assertThat(r.json().size()).isEqualTo(10);
        assertThat(r.json().get(0).get("attrs").get("freq").asLong()).isEqualTo(200000);
        assertThat(http.get("/fs/big?w.le=1").json().size()).isEqualTo(4);
        // eq goes through the GIN index on attrs
        SpaceQuery eq = SpaceQuery.build(t, Map.of("freq", new String[] {"12345"}), null, null, json);
        String eqPlan = String.join("\n", jdbc.queryForList("explain " + eq.sql(), String.class, eq.args().toArray()));
        assertThat(eqPlan).contains("sp_big_ga");
        assertThat(http.get("/fs/big?freq=12345").json().get(0).get("key").asString()).isEqualTo("w12345");
        // labels: equality through the GIN index on labels, prefixes (a hierarchy) through the path index
        SpaceQuery lang = SpaceQuery.build(t, Map.of("label.lang", new String[] {"en"}), null, null, json);
        String langPlan = String.join("\n", jdbc.queryForList("explain " + lang.sql(), String.class, lang.args().toArray()));
        log.info("plan of label.lang=en: {}", langPlan.replace('\n', '|'));
        assertThat(langPlan).contains("sp_big_gl");
        SpaceQuery prefix = SpaceQuery.build(t, Map.of("label.path.prefix", new String[] {"/d7/"}), null, null, json);
        String prefixPlan = String.join("\n", jdbc.queryForList("explain " + prefix.sql(), String.class, prefix.args().toArray()));
        log.info("plan of label.path.prefix=/d7/: {}", prefixPlan.replace('\n', '|'));
        assertThat(prefixPlan).contains("sp_big_lp");
        SpaceQuery in = SpaceQuery.build(t, Map.of("label.lang.in", new String[] {"en,x7"}), null, null, json);
        String inPlan = String.join("\n", jdbc.queryForList("explain " + in.sql(), String.class, in.args().toArray()));
        assertThat(inPlan).contains("sp_big_gl");
        assertThat(http.get("/fs/big?label.lang.in=en,x7&limit=100000").json().size()).isEqualTo(240);
        // the objects the label indexes leave out are still found by what does not need them
        assertThat(http.get("/fs/big?label.lang.exists=false&limit=100000").json().size()).isEqualTo(50000);
        // attribute filters do not depend on labels: w2 and w6 have none, w3 has some
        assertThat(http.get("/fs/big?freq.in=2,3,6").json().valueStream().map(o -> o.get("key").asString()).toList())
                .containsExactly("w2", "w3", "w6");
        assertThat(http.get("/fs/big?freq=6").json().get(0).get("key").asString()).isEqualTo("w6");
        assertThat(jdbc.queryForObject("select count(*) from sp_big where labels = '{}'::jsonb", Long.class)).isEqualTo(50000);
        assertThat(http.get("/fs/big?label.lang=en&limit=100000").json().size()).isEqualTo(200);
        var under = http.get("/fs/big?label.path.prefix=/d7/&limit=100000").json();
        assertThat(under.size()).isEqualTo(200);
        assertThat(under.valueStream().allMatch(o -> o.get("labels").get("path").asString().startsWith("/d7/"))).isTrue();
        assertThat(http.delete("/fs/big").status()).isEqualTo(204);
    }
}
