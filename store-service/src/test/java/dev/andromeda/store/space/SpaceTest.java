package dev.andromeda.store.space;

import dev.andromeda.common.testing.TestHttp;
import dev.andromeda.engines.SharedEngines;
import dev.andromeda.store.StoreTestBase;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.jdbc.core.simple.JdbcClient;

class SpaceTest extends StoreTestBase {

    @Autowired JdbcClient jdbc;

    static final String WORDS = """
            {"key":"word","attrs":{"freq":"Int"},"labels":{"owner":"fig2"},
             "opts":{"partitions":8,"failures":2,"versioning":false}}""";

    @Test
    void mkdirIsIdempotentAndReportsWhatPostgresReallyTolerates() {
        var made = http.put("/fs/sp_words", WORDS);
        assertThat(made.status()).isEqualTo(201);
        assertThat(made.json().get("name").asString()).isEqualTo("sp_words");
        assertThat(made.json().get("key").asString()).isEqualTo("word");
        assertThat(made.json().get("attrs").get("freq").asString()).isEqualTo("Int");
        assertThat(made.json().get("opts").get("failures").asInt()).isEqualTo(2);
        assertThat(made.json().get("effectiveFailures").asInt()).isZero();
        assertThat(made.json().get("objects").asLong()).isZero();

        var again = http.put("/fs/sp_words", WORDS);
        assertThat(again.status()).isEqualTo(200);
        assertThat(again.json().get("created").asString()).isEqualTo(made.json().get("created").asString());

        var different = http.put("/fs/sp_words", """
                {"key":"word","attrs":{"freq":"Float"},"opts":{"partitions":8,"failures":2}}""");
        assertThat(different.status()).isEqualTo(409);
        assertThat(different.contentType()).startsWith("application/problem+json");
    }

    @Test
    void missingOptionsTakeDefaultsAndTheKeyMayBeDeclaredAsStr() {
        var made = http.put("/fs/sp_defaults", """
                {"key":"id","attrs":{"id":"Str","n":"Int"}}""");
        assertThat(made.status()).isEqualTo(201);
        assertThat(made.json().get("opts").get("partitions").asInt()).isEqualTo(1);
        assertThat(made.json().get("opts").get("failures").asInt()).isZero();
        assertThat(made.json().get("opts").get("versioning").asBoolean()).isFalse();
        assertThat(made.json().get("attrs").has("id")).isFalse();
        // the same definition, written without the key in attrs and with explicit defaults
        assertThat(http.put("/fs/sp_defaults", """
                {"key":"id","attrs":{"n":"Int"},"opts":{"partitions":1,"failures":0,"versioning":false}}""").status())
                .isEqualTo(200);
        assertThat(http.put("/fs/sp_keyclash", """
                {"key":"id","attrs":{"id":"Int"}}""").field()).isEqualTo("attrs.id");
    }

    @Test
    void unknownTypeIs422NamingTheAttributeAndNothingIsCreated() {
        var r = http.put("/fs/sp_badtype", """
                {"key":"k","attrs":{"ok":"Int","weird":"Complex"}}""");
        assertThat(r.status()).isEqualTo(422);
        assertThat(r.field()).isEqualTo("attrs.weird");
        assertThat(http.get("/fs/sp_badtype").status()).isEqualTo(404);
        assertThat(jdbc.sql("select count(*) from pg_tables where tablename = 'sp_sp_badtype'").query(Long.class).single()).isZero();

        assertThat(http.put("/fs/sp_badname", """
                {"key":"k","attrs":{"x; drop table spaces":"Int"}}""").status()).isEqualTo(422);
        var parts = http.put("/fs/sp_badparts", """
                {"key":"k","opts":{"partitions":0}}""");
        assertThat(parts.field()).as(parts.body()).isEqualTo("opts.partitions");
        assertThat(http.put("/fs/Bad-Name", """
                {"key":"k"}""").status()).isEqualTo(400);
        assertThat(http.put("/fs/sp_malformed", "{\"key\": ").status()).isEqualTo(400);
    }

    @Test
    void partitionsBecomeHashPartitionsWithTheIndexes() {
        assertThat(http.put("/fs/sp_parts", """
                {"key":"word","attrs":{"freq":"Int","seen":"Time","w":"Float","s":"Str"},"opts":{"partitions":8}}""").status())
                .isEqualTo(201);
        long parts = jdbc.sql("""
                select count(*) from pg_inherits i join pg_class p on p.oid = i.inhparent
                where p.relname = 'sp_sp_parts' and p.relkind = 'p'""").query(Long.class).single();
        assertThat(parts).isEqualTo(8);
        String strategy = jdbc.sql("""
                select partstrat::text from pg_partitioned_table t join pg_class c on c.oid = t.partrelid
                where c.relname = 'sp_sp_parts'""").query(String.class).single();
        assertThat(strategy).isEqualTo("h");
        var indexes = jdbc.sql("select indexdef from pg_indexes where tablename = 'sp_sp_parts'").query(String.class).list();
        assertThat(indexes).anyMatch(d -> d.contains("gin") && d.contains("attrs jsonb_path_ops"));
        assertThat(indexes).anyMatch(d -> d.contains("gin") && d.contains("labels jsonb_path_ops"));
        assertThat(indexes).anyMatch(d -> d.contains("'freq'") && d.contains("numeric"));
        assertThat(indexes).anyMatch(d -> d.contains("'w'") && d.contains("numeric"));
        assertThat(indexes).anyMatch(d -> d.contains("'seen'") && d.contains("\"C\""));
        assertThat(indexes).noneMatch(d -> d.contains("'s'"));
    }

    @Test
    void listFiltersByKeyAttributeAndDeleteDropsTheTable() {
        http.put("/fs/sp_listed", """
                {"key":"lemma","attrs":{"n":"Int"}}""");
        var byKey = http.get("/fs?key=lemma");
        assertThat(byKey.status()).isEqualTo(200);
        assertThat(byKey.json().get("spaces").valueStream().map(s -> s.get("name").asString()).toList())
                .containsExactly("sp_listed");
        assertThat(http.get("/fs").json().get("spaces").valueStream().map(s -> s.get("name").asString()).toList())
                .contains("sp_listed");

        assertThat(http.delete("/fs/sp_listed").status()).isEqualTo(204);
        assertThat(http.delete("/fs/sp_listed").status()).isEqualTo(404);
        assertThat(http.get("/fs?key=lemma").json().get("spaces").size()).isZero();
        assertThat(jdbc.sql("select count(*) from pg_tables where tablename = 'sp_sp_listed'").query(Long.class).single()).isZero();
        // and the name is free for another definition
        assertThat(http.put("/fs/sp_listed", """
                {"key":"lemma","attrs":{"n":"Float"}}""").status()).isEqualTo(201);
    }

    @Test
    void longSpaceNamesGetDistinctTables() {
        String a = "a".repeat(50) + "_one";
        String b = "a".repeat(50) + "_two";
        assertThat(http.put("/fs/" + a, "{\"key\":\"k\"}").status()).isEqualTo(201);
        assertThat(http.put("/fs/" + b, "{\"key\":\"k\"}").status()).isEqualTo(201);
        assertThat(http.put("/fs/" + a + "/x", "{}").status()).isEqualTo(201);
        assertThat(http.get("/fs/" + b + "/x").status()).isEqualTo(404);
        assertThat(http.get("/fs/" + a + "/x").status()).isEqualTo(200);
    }
}
