package dev.andromeda.store.space;

import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.store.StoreTestBase;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.jdbc.core.simple.JdbcClient;

/** Lists, nested objects and JSON Schemas as attribute types; indexes, options and ?meta. */
class TypesTest extends StoreTestBase {

    @Autowired JdbcClient jdbc;

    @Test
    void listsObjectsAndSchemasCheckEveryWrite() {
        var made = http.put("/fs/typed", """
                {"key":"k","attrs":{
                   "tags":"List<Str>",
                   "grid":{"List":"List<Int>"},
                   "who":{"Obj":{"name":"Str","born":"Time","langs":"List<Str>"}},
                   "email":{"Schema":{"type":"string","pattern":"^[^@]+@[^@]+$"}}},
                 "indexed":["label.shelf"]}""");
        assertThat(made.status()).as(made.body()).isEqualTo(201);
        // the canonical form: List<…> where the element has a string form
        assertThat(made.json().get("attrs").get("grid").asString()).isEqualTo("List<List<Int>>");
        assertThat(made.json().get("attrs").get("who").get("Obj").get("langs").asString()).isEqualTo("List<Str>");
        assertThat(made.json().get("indexed").valueStream().map(n -> n.asString()).toList()).containsExactly("label.shelf");

        var ok = http.put("/fs/typed/a", """
                {"attrs":{"tags":["x","y"],"grid":[[1,2],[3]],"who":{"name":"Ada","born":"1815-12-10T00:00:00Z"},
                          "email":"ada@example.org"}}""");
        assertThat(ok.status()).as(ok.body()).isEqualTo(201);
        assertThat(ok.json().get("attrs").get("who").get("born").asString()).isEqualTo("1815-12-10T00:00:00.000000Z");

        // the problem names the innermost place that is wrong, in its field and its detail
        record Bad(String attrs, String field, String detail) {}
        for (Bad b : List.of(
                new Bad("{\"tags\":[\"x\",1]}", "attrs.tags[1]", "tags[1]: expected Str, got the number 1"),
                new Bad("{\"tags\":\"x\"}", "attrs.tags", "tags: expected List<Str>, got the string \"x\""),
                new Bad("{\"grid\":[[1,2.5]]}", "attrs.grid[0][1]", "grid[0][1]: expected Int, got the number 2.5"),
                new Bad("{\"who\":{\"name\":\"Ada\",\"age\":36}}", "attrs.who.age", "who.age: no such field (the fields are born, langs, name)"),
                new Bad("{\"who\":{\"born\":\"last year\"}}", "attrs.who.born", "who.born: expected Time, got the string \"last year\""),
                new Bad("{\"who\":{\"langs\":[\"en\",false]}}", "attrs.who.langs[1]", "who.langs[1]: expected Str, got the boolean false"),
                new Bad("{\"email\":\"nobody\"}", "attrs.email", "pattern"))) {
            var r = http.put("/fs/typed/b", "{\"attrs\":" + b.attrs() + "}");
            assertThat(r.status()).as(b.attrs()).isEqualTo(422);
            assertThat(r.field()).isEqualTo(b.field());
            assertThat(r.json().get("detail").asString()).contains(b.detail());
        }
        // and so does an invocation's: set of a whole object, add of one element
        http.put("/fs/typed/c", "{\"attrs\":{\"tags\":[]}}");
        var set = http.post("/fs/typed/c:invoke", "{\"ops\":{\"who\":{\"op\":\"set\",\"n\":{\"name\":5}}}}");
        assertThat(set.status()).as(set.body()).isEqualTo(422);
        assertThat(set.field()).isEqualTo("ops.who.n.name"); // where it is in the request body
        assertThat(set.json().get("detail").asString()).isEqualTo("set on who.name: expected Str, got the number 5");
        var add = http.post("/fs/typed:invoke", "{\"batchId\":\"t1\",\"invocations\":[{\"key\":\"c\",\"ops\":{\"grid\":{\"op\":\"add\",\"n\":[1,\"2\"]}}}]}");
        assertThat(add.status()).as(add.body()).isEqualTo(422);
        assertThat(add.field()).isEqualTo("invocations[0].ops.grid.n[1]");
        assertThat(add.json().get("detail").asString()).isEqualTo("add on grid takes one element: n[1]: expected Int, got the string \"2\"");
        assertThat(http.put("/fs/typed/b", "{\"attrs\":{\"email\":\"nobody\"}}").json().get("detail").asString()).contains("pattern");
        assertThat(http.get("/fs/typed/b").status()).isEqualTo(404);

        for (String bad : List.of("\"List<Nope>\"", "{\"Obj\":\"Str\"}", "{\"List\":\"Str\",\"Obj\":{}}", "\"Lisst<Str>\"",
                "{\"Schema\":{\"$ref\":\"http://example.org/s.json\"}}")) {
            var r = http.put("/fs/badtyped", "{\"key\":\"k\",\"attrs\":{\"a\":" + bad + "}}");
            assertThat(r.status()).as(bad).isEqualTo(422);
            assertThat(r.field()).isEqualTo("attrs.a");
        }
        // a misspelt field is a 400 naming it where it is (it was ignored: a space with no
        // attributes, an unversioned one), and nothing is made
        var typo = http.put("/fs/badtyped", "{\"key\":\"k\",\"atrs\":{\"a\":\"Str\"}}");
        assertThat(typo.status()).isEqualTo(400);
        assertThat(typo.field()).isEqualTo("atrs");
        assertThat(typo.json().get("detail").asString()).contains("attrs, indexed, key, labels, opts");
        var nestedTypo = http.put("/fs/badtyped", "{\"key\":\"k\",\"attrs\":{\"a\":\"Str\"},\"opts\":{\"versionning\":true}}");
        assertThat(nestedTypo.status()).isEqualTo(400);
        assertThat(nestedTypo.field()).isEqualTo("opts.versionning");
        assertThat(http.get("/fs/badtyped").status()).isEqualTo(404);
        assertThat(http.put("/fs/typed/c", "{\"attrs\":{\"tags\":[]},\"version\":3}").field()).isEqualTo("version");
        // a schema that is no schema by its meta-schema: refused at mkdir, saying where (it made an
        // attribute no value could ever pass)
        var notASchema = http.put("/fs/badtyped", "{\"key\":\"k\",\"attrs\":{\"a\":{\"Schema\":{\"type\":\"Int\"}}}}");
        assertThat(notASchema.status()).isEqualTo(422);
        assertThat(notASchema.field()).isEqualTo("attrs.a");
        assertThat(notASchema.json().get("detail").asString()).contains("/type").contains("in a JSON Schema it is \"integer\"");
        assertThat(http.get("/fs/badtyped").status()).isEqualTo(404);
        assertThat(http.put("/fs/badtyped", "{\"key\":\"k\",\"attrs\":{\"a\":\"Str\"},\"indexed\":[\"b\"]}").field()).isEqualTo("indexed");
        assertThat(http.put("/fs/badtyped", "{\"key\":\"k\",\"attrs\":{\"a\":\"List<Str>\"},\"indexed\":[\"a\"]}").field()).isEqualTo("indexed");
        assertThat(http.put("/fs/badtyped", "{\"key\":\"k\",\"attrs\":{\"since\":\"Str\"}}").field()).isEqualTo("attrs.since");

        // the label index asked for exists, beside the GIN indexes and the path prefix index
        List<String> idx = jdbc.sql("select indexdef from pg_indexes where tablename = 'sp_typed'").query(String.class).list();
        assertThat(String.join("\n", idx)).contains("labels ->> 'shelf'").contains("labels ->> 'path'").contains("gin (attrs jsonb_path_ops)");
    }

    @Test
    void missingOptionsTakeTheDefaultsAndMetaDescribesTheSpace() {
        var made = http.put("/fs/plain", "{\"key\":\"k\",\"attrs\":{\"n\":\"Int\",\"s\":\"Str\"}}");
        assertThat(made.status()).isEqualTo(201);
        assertThat(made.json().get("opts").get("partitions").asInt()).isEqualTo(1);
        assertThat(made.json().get("opts").get("versioning").asBoolean()).isFalse();
        assertThat(made.json().get("indexed").valueStream().map(n -> n.asString()).toList()).containsExactly("n"); // numbers by default
        http.put("/fs/plain/x", "{\"attrs\":{\"n\":1}}");
        var meta = http.get("/fs/plain?meta");
        assertThat(meta.status()).isEqualTo(200);
        assertThat(meta.json().get("name").asString()).isEqualTo("plain");
        assertThat(meta.json().get("objects").asLong()).isEqualTo(1);
        assertThat(meta.json().get("effectiveFailures").asInt()).isZero();
        assertThat(http.get("/fs/nosuch?meta").status()).isEqualTo(404);
        assertThat(http.get("/fs").json().get("spaces").valueStream().map(s -> s.get("name").asString()).toList()).contains("plain");
        assertThat(http.delete("/fs/plain").status()).isEqualTo(204);
        assertThat(http.get("/fs/plain?meta").status()).isEqualTo(404);
    }
}
