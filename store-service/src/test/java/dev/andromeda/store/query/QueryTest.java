package dev.andromeda.store.query;

import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.common.testing.TestHttp;
import dev.andromeda.store.StoreTestBase;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.cbor.CBORMapper;

/** Operators, labels as a hierarchy, time bounds, cursors and the output formats. */
class QueryTest extends StoreTestBase {

    private static volatile boolean made;
    @Autowired JdbcClient jdbc;

    @BeforeEach
    void space() {
        if (made) return;
        assertThat(http.put("/fs/lib", """
                {"key":"id","attrs":{"title":"Str","pages":"Int","tags":"List<Str>","at":"Time"},
                 "labels":{"shelf":"lib"}}""").status()).isEqualTo(201);
        put("a1", Map.of("title", "Dune", "pages", 412, "tags", List.of("sf", "desert")), Map.of("path", "/books/sf/dune", "lang", "en"));
        put("a2", Map.of("title", "Dubliners", "pages", 152, "tags", List.of("classic")), Map.of("path", "/books/classic/dubliners", "lang", "en"));
        put("a3", Map.of("title", "Solaris", "pages", 204, "tags", List.of("sf")), Map.of("path", "/books/sf/solaris", "lang", "pl"));
        put("a4", Map.of("title", "Ubik"), Map.of("path", "/magazines/ubik"));
        // modification times the since/until tests can rely on
        jdbc.sql("update sp_lib set modified = '2013-12-31T12:00:00Z' where key = 'a1'").update();
        jdbc.sql("update sp_lib set modified = '2014-01-01T00:00:00Z' where key = 'a2'").update();
        jdbc.sql("update sp_lib set modified = '2014-06-01T00:00:00Z' where key = 'a3'").update();
        jdbc.sql("update sp_lib set modified = '2015-01-01T00:00:00Z' where key = 'a4'").update();
        made = true;
    }

    private void put(String key, Map<String, Object> attrs, Map<String, String> labels) {
        var r = http.put("/fs/lib/" + key, TestHttp.json(Map.of("attrs", attrs, "labels", labels)));
        assertThat(r.status()).as(r.body()).isEqualTo(201);
    }

    private List<String> keys(String query) {
        var r = http.get("/fs/lib?" + query);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r.json().valueStream().map(o -> o.get("key").asString()).toList();
    }

    @Test
    void inPrefixExistsContains() {
        assertThat(keys("pages.in=412,204")).containsExactly("a1", "a3");
        assertThat(keys("pages.in=" + TestHttp.enc("[152]"))).containsExactly("a2");
        assertThat(keys("title.in=" + TestHttp.enc("[\"Ubik\",\"Dune\"]"))).containsExactly("a1", "a4");
        assertThat(keys("id.in=a2,a4,zz")).containsExactly("a2", "a4");
        assertThat(keys("title.prefix=Du")).containsExactly("a1", "a2");
        assertThat(keys("title.prefix=Dun")).containsExactly("a1");
        assertThat(keys("id.prefix=a")).containsExactly("a1", "a2", "a3", "a4");
        assertThat(keys("pages.exists=false")).containsExactly("a4");
        assertThat(keys("pages.exists=true")).containsExactly("a1", "a2", "a3");
        assertThat(keys("tags.contains=sf")).containsExactly("a1", "a3");
        assertThat(keys("tags.contains=classic")).containsExactly("a2");
        assertThat(keys("tags=" + TestHttp.enc("[\"sf\"]"))).containsExactly("a3"); // equality of the whole list
        assertThat(http.get("/fs/lib?pages.contains=1").field()).isEqualTo("pages.contains");
        assertThat(http.get("/fs/lib?pages.prefix=1").field()).isEqualTo("pages.prefix");
        assertThat(http.get("/fs/lib?pages.exists=maybe").field()).isEqualTo("pages.exists");
        assertThat(http.get("/fs/lib?pages.in=1,x").field()).isEqualTo("pages.in");
    }

    @Test
    void fieldsOfObjectsAreQueriedAtAnyDepth() {
        assertThat(http.put("/fs/people_nested", """
                {"key":"id","attrs":{"who":{"Obj":{"name":"Str","born":"Time","langs":"List<Str>",
                                                   "addr":{"Obj":{"city":"Str","zip":"Int"}}}}}}""").status()).isEqualTo(201);
        for (var p : List.of(
                Map.of("id", "ada", "who", Map.of("name", "Ada", "born", "1815-12-10T00:00:00Z", "langs", List.of("en", "fr"),
                        "addr", Map.of("city", "London", "zip", 1))),
                Map.of("id", "grace", "who", Map.of("name", "Grace", "born", "1906-12-09T00:00:00Z", "langs", List.of("en"),
                        "addr", Map.of("city", "New York", "zip", 10001))),
                Map.of("id", "alan", "who", Map.of("name", "Alan", "addr", Map.of("city", "London", "zip", 2))))) {
            var r = http.put("/fs/people_nested/" + p.get("id"), TestHttp.json(Map.of("attrs", Map.of("who", p.get("who")))));
            assertThat(r.status()).as(r.body()).isEqualTo(201);
        }
        java.util.function.Function<String, List<String>> q = query -> {
            var r = http.get("/fs/people_nested?sort=id&" + query);
            assertThat(r.status()).as(query + ": " + r.body()).isEqualTo(200);
            return r.json().valueStream().map(o -> o.get("key").asString()).toList();
        };
        assertThat(q.apply("who.name=Ada")).containsExactly("ada");
        assertThat(q.apply("who.addr.city=London")).containsExactly("ada", "alan");
        assertThat(q.apply("who.addr.city.eq=London&who.addr.zip.gt=1")).containsExactly("alan");
        assertThat(q.apply("who.addr.zip.ge=2")).containsExactly("alan", "grace");
        assertThat(q.apply("who.addr.city.ne=London")).containsExactly("grace");
        assertThat(q.apply("who.addr.city.in=Paris,New%20York")).containsExactly("grace");
        assertThat(q.apply("who.born.lt=1900-01-01T00:00:00Z")).containsExactly("ada");
        // a Time takes every form since/until take: a date, the paper's MMDDYYYY, epoch seconds
        assertThat(q.apply("who.born.lt=1900-01-01")).containsExactly("ada");
        assertThat(q.apply("who.born.ge=01011900")).containsExactly("grace");
        assertThat(q.apply("who.born.gt=-2000000000")).containsExactly("grace");
        assertThat(http.get("/fs/people_nested?who.born.lt=yesterday").field()).isEqualTo("who.born.lt");
        assertThat(q.apply("who.born.exists=false")).containsExactly("alan");
        assertThat(q.apply("who.langs.contains=fr")).containsExactly("ada");
        assertThat(q.apply("who.name.prefix=A")).containsExactly("ada", "alan");
        assertThat(q.apply("who.addr=" + TestHttp.enc("{\"city\":\"London\",\"zip\":2}"))).containsExactly("alan");
        // names are checked against the type, never put into SQL: an unknown field is a 400 naming the parameter
        var bad = http.get("/fs/people_nested?who.nick=x");
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.field()).isEqualTo("who.nick");
        assertThat(bad.json().get("detail").asString()).contains("addr, born, langs, name");
        assertThat(http.get("/fs/people_nested?who.addr.city.gt.x=1").status()).isEqualTo(400);
        assertThat(http.get("/fs/people_nested?who.addr.zip.prefix=1").field()).isEqualTo("who.addr.zip.prefix");
        assertThat(http.get("/fs/people_nested?who.addr.zip=" + TestHttp.enc("'; drop table sp_people_nested; --")).status()).isEqualTo(400);
        assertThat(q.apply("who.name=" + TestHttp.enc("'; drop table sp_people_nested; --"))).isEmpty();
        assertThat(q.apply("who.name.exists=true")).hasSize(3);
    }

    @Test
    void labelsEmulateAHierarchy() {
        assertThat(keys("label.path.prefix=/books/")).containsExactly("a1", "a2", "a3");
        assertThat(keys("label.path.prefix=/books/sf/")).containsExactly("a1", "a3");
        assertThat(keys("label.path.prefix=/magazines/")).containsExactly("a4");
        assertThat(keys("label.lang=en")).containsExactly("a1", "a2");
        assertThat(keys("label.lang.ne=en")).containsExactly("a3");
        assertThat(keys("label.lang.in=pl,de")).containsExactly("a3");
        assertThat(keys("label.lang.exists=false")).containsExactly("a4");
        assertThat(keys("label.shelf=lib")).containsExactly("a1", "a2", "a3", "a4"); // the space's default label
        assertThat(keys("label.path.prefix=/books/&pages.gt=200&label.lang=en")).containsExactly("a1");
        // a page is written from the rows' JSON text: each object as GET shows it, field for field
        // (GET also writes the main line's absent branch as null)
        for (String k : List.of("a1", "a2", "a3", "a4")) {
            var one = (tools.jackson.databind.node.ObjectNode) http.get("/fs/lib/" + k).json();
            assertThat(one.remove("branch").isNull()).isTrue();
            assertThat(http.get("/fs/lib?id=" + k).json().get(0)).isEqualTo(one);
        }
    }

    @Test
    void sinceAndUntilTakeEveryTimeForm() {
        assertThat(keys("since=01012014")).containsExactly("a2", "a3", "a4"); // the paper's MMDDYYYY
        var paper = http.get("/fs/lib?since=01012014&fmt=JSON");
        assertThat(paper.status()).isEqualTo(200);
        assertThat(paper.json().isArray()).isTrue();
        assertThat(keys("since=2014-01-01")).containsExactly("a2", "a3", "a4");
        assertThat(keys("since=2014-01-01T00:00:01Z")).containsExactly("a3", "a4");
        assertThat(keys("since=" + TestHttp.enc("2014-01-01T02:00:00+02:00"))).containsExactly("a2", "a3", "a4");
        assertThat(keys("since=1388534400")).containsExactly("a2", "a3", "a4"); // epoch seconds of 2014-01-01
        assertThat(keys("since=01012014&until=2015-01-01")).containsExactly("a2", "a3");
        assertThat(http.get("/fs/lib?since=13452014").field()).isEqualTo("since"); // month 13
        assertThat(http.get("/fs/lib?since=yesterday").field()).isEqualTo("since");
    }

    @Test
    void cursorsPageThroughEverythingOnceAndRefuseTampering() {
        assertThat(http.put("/fs/pages", """
                {"key":"k","attrs":{"n":"Int","g":"Str"}}""").status()).isEqualTo(201);
        List<Object> invs = new ArrayList<>();
        for (int i = 0; i < 250; i++) {
            // repeated sort values (n = i / 3) and some missing ones, so ties and nulls cross page ends
            Map<String, Object> ops = i % 10 == 0 ? Map.of("g", Map.of("op", "set", "n", "x"))
                    : Map.of("n", Map.of("op", "set", "n", i / 3), "g", Map.of("op", "set", "n", "x"));
            invs.add(Map.of("key", String.format("k%03d", i), "ops", ops));
        }
        assertThat(http.post("/fs/pages:invoke", TestHttp.json(Map.of("batchId", "fill", "invocations", invs))).status()).isEqualTo(200);
        for (String sort : List.of("-n", "n", "k", "-k")) {
            List<String> all = new ArrayList<>();
            String cursor = null;
            int pages = 0;
            do {
                var r = raw("GET", "/fs/pages?g=x&limit=40&sort=" + sort + (cursor == null ? "" : "&cursor=" + TestHttp.enc(cursor)), null);
                assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
                json(r).valueStream().forEach(o -> all.add(o.get("key").asString()));
                cursor = r.headers().firstValue("M31-Cursor").orElse(null);
                if (cursor != null) assertThat(r.headers().firstValue("Link").orElseThrow()).contains("rel=\"next\"").contains("cursor=");
                pages++;
            } while (cursor != null);
            assertThat(pages).isEqualTo(7);
            var whole = http.get("/fs/pages?g=x&limit=1000&sort=" + sort).json().valueStream().map(o -> o.get("key").asString()).toList();
            assertThat(all).as(sort).hasSize(250).containsExactlyElementsOf(whole);
        }
        var first = raw("GET", "/fs/pages?limit=10&sort=n", null);
        String c = first.headers().firstValue("M31-Cursor").orElseThrow();
        assertThat(http.get("/fs/pages?limit=10&sort=n&cursor=" + TestHttp.enc(c)).status()).isEqualTo(200);
        // tampered: one character of the payload changed
        char ch = c.charAt(3);
        String tampered = c.substring(0, 3) + (ch == 'A' ? 'B' : 'A') + c.substring(4);
        assertThat(http.get("/fs/pages?limit=10&sort=n&cursor=" + TestHttp.enc(tampered)).field()).isEqualTo("cursor");
        assertThat(http.get("/fs/pages?limit=10&sort=n&cursor=garbage").field()).isEqualTo("cursor");
        assertThat(http.get("/fs/pages?limit=10&sort=n&cursor=" + TestHttp.enc("e30.e30")).field()).isEqualTo("cursor");
        // a good cursor on another query (other sort, other filter) is refused too
        assertThat(http.get("/fs/pages?limit=10&sort=-n&cursor=" + TestHttp.enc(c)).status()).isEqualTo(400);
        assertThat(http.get("/fs/pages?limit=10&sort=n&g=y&cursor=" + TestHttp.enc(c)).status()).isEqualTo(400);
        assertThat(http.delete("/fs/pages").status()).isEqualTo(204);
    }

    @Test
    void csvAndCbor() throws Exception {
        var csv = raw("GET", "/fs/lib?fmt=CSV&label.lang=en", null);
        assertThat(csv.statusCode()).isEqualTo(200);
        assertThat(csv.headers().firstValue("Content-Type").orElse("")).startsWith("text/csv");
        List<String> lines = text(csv).lines().toList();
        assertThat(lines.get(0)).isEqualTo("id,at,pages,tags,title,labels,version,modified");
        assertThat(lines).hasSize(3);
        assertThat(lines.get(1)).startsWith("a1,,412,\"[\"\"sf\"\",\"\"desert\"\"]\",Dune,\"{");
        // format names are not case-sensitive
        assertThat(text(raw("GET", "/fs/lib?fmt=csv&label.lang=en", null)).lines().toList()).isEqualTo(lines);
        var ndjson = raw("GET", "/fs/lib?label.lang=en&fmt=ndjson", null);
        assertThat(ndjson.headers().firstValue("Content-Type").orElse("")).startsWith("application/x-ndjson");
        assertThat(text(ndjson).lines().toList()).hasSize(2);
        assertThat(http.get("/fs/lib?fmt=json&label.lang=en").json()).hasSize(2);
        assertThat(http.get("/fs/lib?fmt=xml").field()).isEqualTo("fmt");

        var cbor = raw("GET", "/fs/lib?label.lang=en", null, "Accept", "application/cbor");
        assertThat(cbor.statusCode()).isEqualTo(200);
        assertThat(cbor.headers().firstValue("Content-Type").orElse("")).startsWith("application/cbor");
        JsonNode decoded = CBORMapper.builder().build().readTree(cbor.body());
        var asJson = http.get("/fs/lib?label.lang=en").json();
        assertThat(decoded.size()).isEqualTo(2);
        assertThat(decoded.get(0).get("attrs").get("title").asString()).isEqualTo("Dune");
        assertThat(decoded.get(0).get("attrs").get("pages").asLong()).isEqualTo(412);
        assertThat(decoded.get(1).get("key").asString()).isEqualTo(asJson.get(1).get("key").asString());
        assertThat(cbor.body().length).isLessThan(http.get("/fs/lib?label.lang=en").body().getBytes().length);
        var one = raw("GET", "/fs/lib/a3", null, "Accept", "application/cbor");
        assertThat(CBORMapper.builder().build().readTree(one.body()).get("attrs").get("title").asString()).isEqualTo("Solaris");
        // JSON stays the default
        assertThat(raw("GET", "/fs/lib/a3", null).headers().firstValue("Content-Type").orElse("")).startsWith("application/json");
    }
}
