package dev.andromeda.store.objects;

import dev.andromeda.common.testing.TestHttp;
import dev.andromeda.engines.SharedEngines;
import dev.andromeda.store.StoreTestBase;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

class ObjectTest extends StoreTestBase {

    private static volatile boolean made;

    @BeforeEach
    void space() {
        if (made) return;
        assertThat(http.put("/fs/books", """
                {"key":"isbn","attrs":{"title":"Str","pages":"Int","price":"Float","used":"Bool","at":"Time","info":"Any"},
                 "opts":{"partitions":4}}""").status()).isEqualTo(201);
        put("b1", Map.of("title", "Dune", "pages", 412, "price", 9.5, "used", false, "at", "2024-01-02T10:00:00+02:00"), Map.of("lang", "en"));
        put("b2", Map.of("title", "Solaris", "pages", 204, "price", 7.25, "used", true, "at", "2024-01-02T09:00:00Z"), Map.of("lang", "pl"));
        put("b3", Map.of("title", "Ubik", "pages", 202, "price", 7.25, "used", true, "at", "2023-12-31T23:59:59.5Z"), Map.of("lang", "en"));
        put("b4", Map.of("title", "Neuromancer", "pages", 271, "price", 12.0, "used", false, "at", "2025-06-01T00:00:00Z"), Map.of("lang", "en"));
        put("b5", Map.of("title", "Blank"), Map.of());
        made = true;
    }

    private void put(String key, Map<String, Object> attrs, Map<String, String> labels) {
        var r = http.put("/fs/books/" + key, TestHttp.json(Map.of("attrs", attrs, "labels", labels)));
        assertThat(r.status()).as(r.body()).isIn(200, 201);
    }

    private List<String> keys(String query) {
        var r = http.get("/fs/books?" + query);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r.json().valueStream().map(o -> o.get("key").asString()).toList();
    }

    @Test
    void putGetReplaceDelete() {
        var created = http.put("/fs/books/x1", """
                {"attrs":{"title":"First","pages":10,"isbn":"x1"},"labels":{"shelf":"a"}}""");
        assertThat(created.status()).isEqualTo(201);
        assertThat(created.json().get("version").asLong()).isEqualTo(1);
        var replaced = http.put("/fs/books/x1", """
                {"attrs":{"title":"Second","pages":11}}""");
        assertThat(replaced.status()).isEqualTo(200);
        assertThat(replaced.json().get("version").asLong()).isEqualTo(2);

        var got = http.get("/fs/books/x1");
        assertThat(got.status()).isEqualTo(200);
        JsonNode o = got.json();
        assertThat(o.get("key").asString()).isEqualTo("x1");
        assertThat(o.get("attrs").get("title").asString()).isEqualTo("Second");
        assertThat(o.get("attrs").get("pages").asLong()).isEqualTo(11);
        assertThat(o.get("attrs").get("isbn").asString()).isEqualTo("x1");
        assertThat(o.get("labels").size()).isZero();
        assertThat(o.get("version").asLong()).isEqualTo(2);
        assertThat(o.get("modified").asString()).isNotBlank();

        assertThat(http.delete("/fs/books/x1").status()).isEqualTo(204);
        assertThat(http.delete("/fs/books/x1").status()).isEqualTo(404);
        var gone = http.get("/fs/books/x1");
        assertThat(gone.status()).isEqualTo(404);
        assertThat(gone.contentType()).startsWith("application/problem+json");
        assertThat(http.get("/fs/nosuchspace/x1").status()).isEqualTo(404);
        assertThat(http.put("/fs/nosuchspace/x1", "{\"attrs\":{}}").status()).isEqualTo(404);
    }

    @Test
    void typeErrorsNameTheFieldAndTheExpectedType() {
        var wrong = http.put("/fs/books/t1", """
                {"attrs":{"pages":"many"}}""");
        assertThat(wrong.status()).isEqualTo(422);
        assertThat(wrong.field()).isEqualTo("attrs.pages");
        assertThat(wrong.json().get("detail").asString()).contains("Int");
        assertThat(http.put("/fs/books/t1", "{\"attrs\":{\"pages\":1.5}}").field()).isEqualTo("attrs.pages");
        assertThat(http.put("/fs/books/t1", "{\"attrs\":{\"price\":\"cheap\"}}").field()).isEqualTo("attrs.price");
        assertThat(http.put("/fs/books/t1", "{\"attrs\":{\"used\":1}}").field()).isEqualTo("attrs.used");
        assertThat(http.put("/fs/books/t1", "{\"attrs\":{\"at\":\"yesterday\"}}").field()).isEqualTo("attrs.at");
        assertThat(http.put("/fs/books/t1", "{\"attrs\":{\"title\":7}}").field()).isEqualTo("attrs.title");
        var unknown = http.put("/fs/books/t1", "{\"attrs\":{\"author\":\"Lem\"}}");
        assertThat(unknown.status()).isEqualTo(422);
        assertThat(unknown.field()).isEqualTo("attrs.author");
        assertThat(http.put("/fs/books/t1", "{\"attrs\":{\"isbn\":\"other\"}}").field()).isEqualTo("attrs.isbn");
        assertThat(http.put("/fs/books/t1", "{\"attrs\":{\"pages\":5.0,\"info\":{\"any\":[1,\"x\",null]}}}").status()).isEqualTo(201);
        assertThat(http.get("/fs/books/t1").json().get("attrs").get("info").get("any").get(1).asString()).isEqualTo("x");
        assertThat(http.get("/fs/books/t2").status()).isEqualTo(404); // nothing was written by the failed puts
        assertThat(http.put("/fs/books/t1", "{\"attrs\":").status()).isEqualTo(400);
        http.delete("/fs/books/t1");
    }

    @Test
    void eachOperatorFilters() {
        assertThat(keys("pages.gt=210&sort=pages")).containsExactly("b4", "b1");
        assertThat(keys("pages.ge=271&sort=pages")).containsExactly("b4", "b1");
        assertThat(keys("pages.lt=204")).containsExactly("b3");
        assertThat(keys("pages.le=204")).containsExactly("b2", "b3");
        assertThat(keys("pages=204")).containsExactly("b2");
        assertThat(keys("pages.eq=204")).containsExactly("b2");
        assertThat(keys("pages.ne=204")).containsExactly("b1", "b3", "b4"); // b5 has no pages
        assertThat(keys("price=7.25")).containsExactly("b2", "b3");
        assertThat(keys("price.gt=9.4&price.lt=12")).containsExactly("b1");
        assertThat(keys("used=true")).containsExactly("b2", "b3");
        assertThat(keys("title=Dune")).containsExactly("b1");
        assertThat(keys("title.lt=O")).containsExactly("b1", "b4", "b5");
        assertThat(keys("at.lt=2024-01-02T09:00:00Z")).containsExactly("b1", "b3"); // b1 is 08:00Z
        assertThat(keys("at.ge=2024-01-02T11:00:00%2B02:00")).containsExactly("b2", "b4");
        assertThat(keys("isbn=b3")).containsExactly("b3");
        assertThat(keys("isbn.gt=b3")).containsExactly("b4", "b5");
        assertThat(keys("label.lang=en")).containsExactly("b1", "b3", "b4");
        assertThat(keys("label.lang=en&used=false")).containsExactly("b1", "b4");
    }

    @Test
    void sortAndLimit() {
        assertThat(keys("sort=-pages")).containsExactly("b1", "b4", "b2", "b3", "b5"); // missing values last
        assertThat(keys("sort=pages&limit=2")).containsExactly("b3", "b2");
        assertThat(keys("sort=-price")).containsExactly("b4", "b1", "b2", "b3", "b5"); // ties by key
        assertThat(keys("sort=price")).containsExactly("b2", "b3", "b1", "b4", "b5");
        assertThat(keys("sort=-isbn&limit=1")).containsExactly("b5");
        assertThat(keys("sort=at")).containsExactly("b3", "b1", "b2", "b4", "b5");
        assertThat(http.get("/fs/books?limit=0").status()).isEqualTo(400);
        assertThat(http.get("/fs/books?limit=100001").status()).isEqualTo(400);
        assertThat(http.get("/fs/books?sort=author").field()).isEqualTo("sort");
    }

    @Test
    void unknownAttributesAndBadValuesAre400NamingTheParameter() {
        var r = http.get("/fs/books?author=Lem");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.field()).isEqualTo("author");
        assertThat(http.get("/fs/books?pages.gt=many").field()).isEqualTo("pages.gt");
        assertThat(http.get("/fs/books?pages.between=1").field()).isEqualTo("pages.between");
        assertThat(http.get("/fs/books?used.gt=true").field()).isEqualTo("used.gt");
        assertThat(http.get("/fs/books?fmt=XML").status()).isEqualTo(400);
        assertThat(http.get("/fs/nosuch?pages=1").status()).isEqualTo(404);
        String injected = TestHttp.enc("pages)::numeric > 0; drop table spaces; --");
        assertThat(http.get("/fs/books?" + injected + "=1").status()).isEqualTo(400);
        assertThat(http.get("/fs/books?sort=" + injected).status()).isEqualTo(400);
        assertThat(http.get("/fs/books").status()).isEqualTo(200);
    }

    @Test
    void sqlLookingStringsAreJustData() {
        String evil = "'; DROP TABLE spaces; --";
        String quotes = "O'Brien \"the\" \\ back\\slash";
        String unicode = "Ελληνικά 日本語 🚀 ";
        String big = "x".repeat(10 * 1024);
        for (String s : List.of(evil, quotes, unicode, big)) {
            String key = "k" + Integer.toHexString(s.hashCode());
            var w = http.put("/fs/books/" + TestHttp.enc(key), TestHttp.json(Map.of("attrs", Map.of("title", s), "labels", Map.of("note", s))));
            assertThat(w.status()).as(w.body()).isEqualTo(201);
            assertThat(http.get("/fs/books/" + TestHttp.enc(key)).json().get("attrs").get("title").asString()).isEqualTo(s);
            assertThat(keys("title=" + TestHttp.enc(s))).containsExactly(key);
            assertThat(keys("label.note=" + TestHttp.enc(s))).containsExactly(key);
            assertThat(keys("isbn=" + TestHttp.enc(s))).isEmpty();
            http.delete("/fs/books/" + TestHttp.enc(key));
        }
        // a key that looks like SQL is a key
        String k = TestHttp.enc("x'); delete from spaces; --");
        assertThat(http.put("/fs/books/" + k, "{\"attrs\":{\"title\":\"t\"}}").status()).isEqualTo(201);
        assertThat(http.get("/fs/books/" + k).json().get("key").asString()).isEqualTo("x'); delete from spaces; --");
        assertThat(http.delete("/fs/books/" + k).status()).isEqualTo(204);
        // a label name that looks like SQL is a name
        assertThat(keys(TestHttp.enc("label.x') or 1=1 --") + "=1")).isEmpty();
        assertThat(http.get("/fs").json().get("spaces").size()).isPositive();
        assertThat(http.get("/fs/books/b1").status()).isEqualTo(200);
    }

    @Test
    void bodiesOverFourMegabytesAre413() {
        String huge = "{\"attrs\":{\"title\":\"" + "y".repeat(4 * 1024 * 1024 + 10) + "\"}}";
        var r = http.put("/fs/books/huge", huge);
        assertThat(r.status()).isEqualTo(413);
        assertThat(http.get("/fs/books/huge").status()).isEqualTo(404);
    }

    @Test
    void chunkedBodiesOverTheBoundAre413Too() throws Exception {
        byte[] huge = ("{\"attrs\":{\"title\":\"" + "z".repeat(4 * 1024 * 1024 + 10) + "\"}}").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        var req = java.net.http.HttpRequest.newBuilder(java.net.URI.create(http.base() + "/fs/books/chunked"))
                .header("Content-Type", "application/json")
                .PUT(java.net.http.HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(huge)))
                .build();
        var r = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_1_1).build()
                .send(req, java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(413);
        assertThat(http.get("/fs/books/chunked").status()).isEqualTo(404);
    }
}
