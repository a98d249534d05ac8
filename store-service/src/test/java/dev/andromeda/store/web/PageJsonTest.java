package dev.andromeda.store.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.common.testing.TestHttp;
import dev.andromeda.store.StoreTestBase;
import dev.andromeda.store.query.RowJson;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.cbor.CBORMapper;

/**
 * A JSON page and an NDJSON stream are written from the rows' bytes by hand ({@link RowJson});
 * they must say exactly what Jackson says for the same objects (the CBOR answer and a single
 * object's GET go through Jackson): keys that need escaping, times with and without fractions.
 */
class PageJsonTest extends StoreTestBase {

    @Autowired JdbcClient jdbc;

    private static final String[] KEYS = {"plain", "quo\"te", "back\\slash", "tab\there", "nl\nline", "cr\rff\fbs\b",
            "ctl\u0001\u001f", "del\u007f", "ünïcödé", "emoji😀", "slash/x", "ends\\"};
    private static final String[] TIMES = {"2014-01-01T00:00:00Z", "2014-01-01T00:00:00.5Z", "2014-01-01T00:00:00.123456Z",
            "2014-01-01T00:00:00.12Z", "0999-12-31T23:59:59.000001Z", "2026-11-27T12:34:56.789Z", "2026-02-03T04:05:06.100Z"};

    @Test
    void pagesAndStreamsSayWhatJacksonSays() {
        assertThat(http.put("/fs/rowjson", "{\"key\":\"k\",\"attrs\":{\"n\":\"Int\",\"s\":\"Str\"}}").status()).isEqualTo(201);
        for (int i = 0; i < KEYS.length; i++) {
            jdbc.sql("insert into sp_rowjson (key, attrs, labels, version, modified) values (?, ?::jsonb, ?::jsonb, ?, ?::timestamptz)")
                    .params(KEYS[i], TestHttp.json(java.util.Map.of("n", i, "s", "v\"\\\n" + KEYS[i])),
                            TestHttp.json(java.util.Map.of("l", "x\ny", "path", "/p/" + i)), 1L + i * 1_000_000_007L, TIMES[i % TIMES.length])
                    .update();
        }
        var page = raw("GET", "/fs/rowjson?limit=100", null);
        assertThat(page.statusCode()).isEqualTo(200);
        JsonNode mine = json(page);
        assertThat(mine.size()).isEqualTo(KEYS.length);
        var cbor = raw("GET", "/fs/rowjson?limit=100", null, "Accept", "application/cbor");
        assertThat(cbor.headers().firstValue("Content-Type").orElse("")).startsWith("application/cbor");
        assertThat(mine).isEqualTo(withoutNullBranch(CBORMapper.builder().build().readTree(cbor.body())));

        // the times as text, exactly as the generic JSON path writes them (a single object's GET)
        JsonNode plain = null;
        for (JsonNode o : mine) if (o.get("key").asString().equals("plain")) plain = o;
        assertThat(plain).isEqualTo(withoutNullBranch(json(raw("GET", "/fs/rowjson/plain", null))));
        List<String> times = new ArrayList<>();
        for (JsonNode o : mine) times.add(o.get("modified").asString());
        assertThat(times).contains("2014-01-01T00:00:00Z", "2014-01-01T00:00:00.5Z", "2014-01-01T00:00:00.123456Z",
                "0999-12-31T23:59:59.000001Z", "2026-02-03T04:05:06.1Z");

        // NDJSON lines are the page's objects, in the same order
        var nd = raw("GET", "/fs/rowjson?fmt=NDJSON", null);
        List<JsonNode> lines = new ArrayList<>();
        for (String l : text(nd).split("\n")) if (!l.isEmpty()) lines.add(TestHttp.JSON.readTree(l));
        assertThat(lines).hasSize(KEYS.length);
        for (int i = 0; i < lines.size(); i++) assertThat(lines.get(i)).isEqualTo(mine.get(i));

        // a full page's cursor is made from the last row's bytes: the next page starts after it
        var first = raw("GET", "/fs/rowjson?limit=5&sort=n", null);
        String cursor = first.headers().firstValue(StoreController.CURSOR_HEADER).orElseThrow();
        JsonNode rest = json(raw("GET", "/fs/rowjson?limit=100&sort=n&cursor=" + TestHttp.enc(cursor), null));
        assertThat(rest.size()).isEqualTo(KEYS.length - 5);
        assertThat(rest.get(0).get("attrs").get("n").asInt()).isEqualTo(5);
    }

    /** The generic form names an absent branch (null); a page's objects, all of the main line, leave it out. */
    private static JsonNode withoutNullBranch(JsonNode n) {
        for (JsonNode o : n.isArray() ? n : List.of(n)) {
            assertThat(o.get("branch").isNull()).isTrue();
            ((tools.jackson.databind.node.ObjectNode) o).remove("branch");
        }
        return n;
    }
}
