package dev.andromeda.store;

import dev.andromeda.api.model.ObjectWrite;
import dev.andromeda.api.model.StoredObject;
import dev.andromeda.common.problem.M31Problem;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import javax.sql.DataSource;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Service;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/** Objects of a space: typed writes, reads, deletes and queries (listed or streamed). */
@Service
class ObjectStore {

    static final int STREAM_FETCH_SIZE = 1000;
    private static final TypeReference<LinkedHashMap<String, Object>> OBJECT_MAP = new TypeReference<>() {};
    private static final TypeReference<LinkedHashMap<String, String>> STRING_MAP = new TypeReference<>() {};

    private final JdbcClient jdbc;
    private final JdbcTemplate streaming;
    private final TransactionTemplate readOnly;
    private final JsonMapper json;

    ObjectStore(JdbcClient jdbc, DataSource dataSource, PlatformTransactionManager txm, JsonMapper json) {
        this.jdbc = jdbc;
        this.json = json;
        // a cursor (fetch size) needs a transaction in PostgreSQL: rows come in slices, memory stays flat
        this.streaming = new JdbcTemplate(dataSource);
        this.streaming.setFetchSize(STREAM_FETCH_SIZE);
        this.readOnly = new TransactionTemplate(txm);
        this.readOnly.setReadOnly(true);
    }

    record Written(StoredObject object, boolean created) {}

    Written put(SpaceType t, String key, ObjectWrite body) {
        checkKey(key);
        Map<String, Object> attrs = new TreeMap<>();
        if (body.getAttrs() != null) {
            for (var e : body.getAttrs().entrySet()) {
                String name = e.getKey();
                String field = "attrs." + name;
                if (t.isKey(name)) {
                    if (!key.equals(e.getValue())) {
                        throw M31Problem.unprocessable(field, "the key attribute " + name + " must equal the key in the path");
                    }
                    continue;
                }
                AttrType type = t.typeOf(name);
                if (type == null) {
                    throw M31Problem.unprocessable(field, "no attribute '" + SpaceQuery.abbreviate(name) + "' in space " + t.name()
                            + " (its attributes: " + String.join(", ", t.attrNames().keySet()) + ")");
                }
                Object v = type.coerce(e.getValue());
                if (v == null) throw M31Problem.unprocessable(field, "expected " + type + ", got " + describe(e.getValue()));
                attrs.put(name, v);
            }
        }
        Map<String, String> labels = new TreeMap<>();
        if (body.getLabels() != null) {
            for (var e : body.getLabels().entrySet()) {
                if (e.getKey().isEmpty() || e.getValue() == null || e.getKey().indexOf('\0') >= 0 || e.getValue().indexOf('\0') >= 0) {
                    throw M31Problem.unprocessable("labels." + SpaceQuery.abbreviate(e.getKey()), "a label is a non-empty name with a string value");
                }
                labels.put(e.getKey(), e.getValue());
            }
        }
        var row = jdbc.sql("insert into " + t.table() + " as sp (key, attrs, labels, version, created, modified) "
                        + "values (?, ?::jsonb, ?::jsonb, 1, now(), now()) "
                        + "on conflict (key) do update set attrs = excluded.attrs, labels = excluded.labels, "
                        + "version = sp.version + 1, modified = now() "
                        + "returning " + SpaceQuery.columns(t))
                .params(key, json.writeValueAsString(attrs), json.writeValueAsString(labels))
                .query((rs, n) -> new Written(map(rs), rs.getLong("version") == 1)) // a version starts at 1, an update raises it
                .single();
        return row;
    }

    StoredObject get(SpaceType t, String key) {
        checkKey(key);
        return jdbc.sql("select " + SpaceQuery.columns(t) + " from " + t.table() + " where key = ?")
                .param(key).query((rs, n) -> map(rs)).optional()
                .orElseThrow(() -> M31Problem.notFound("no object " + SpaceQuery.abbreviate(key) + " in space " + t.name()));
    }

    boolean delete(SpaceType t, String key) {
        checkKey(key);
        return jdbc.sql("delete from " + t.table() + " where key = ?").param(key).update() > 0;
    }

    List<StoredObject> query(SpaceQuery q) {
        return jdbc.sql(q.sql()).params(q.args()).query((rs, n) -> map(rs)).list();
    }

    /** Writes each matching object as one JSON line, as the rows arrive. Returns how many. */
    long stream(SpaceQuery q, OutputStream out) {
        long[] count = {0};
        readOnly.executeWithoutResult(status -> streaming.query(q.sql(), rs -> {
            try {
                out.write('{');
                out.write("\"key\":".getBytes(StandardCharsets.UTF_8));
                out.write(json.writeValueAsBytes(rs.getString("key")));
                out.write(",\"attrs\":".getBytes(StandardCharsets.UTF_8));
                out.write(rs.getString("attrs").getBytes(StandardCharsets.UTF_8)); // PostgreSQL's own JSON text
                out.write(",\"labels\":".getBytes(StandardCharsets.UTF_8));
                out.write(rs.getString("labels").getBytes(StandardCharsets.UTF_8));
                out.write((",\"version\":" + rs.getLong("version") + ",\"modified\":").getBytes(StandardCharsets.UTF_8));
                out.write(json.writeValueAsBytes(rs.getObject("modified", OffsetDateTime.class)));
                out.write('}');
                out.write('\n');
                count[0]++;
            } catch (IOException e) {
                throw new UncheckedIOException(e); // the client went away: stop reading rows
            }
        }, q.args().toArray()));
        return count[0];
    }

    private StoredObject map(ResultSet rs) throws SQLException {
        StoredObject o = new StoredObject();
        o.setKey(rs.getString("key"));
        o.setAttrs(json.readValue(rs.getString("attrs"), OBJECT_MAP));
        o.setLabels(json.readValue(rs.getString("labels"), STRING_MAP));
        o.setVersion(rs.getLong("version"));
        o.setModified(rs.getObject("modified", OffsetDateTime.class));
        return o;
    }

    static void checkKey(String key) {
        if (key == null || key.isEmpty() || key.length() > 1024) throw M31Problem.badRequest("key", "a key is 1-1024 characters");
        if (key.indexOf('\0') >= 0) throw M31Problem.badRequest("key", "a key has no NUL character");
    }

    private static String describe(Object v) {
        if (v == null) return "null";
        if (v instanceof String s) return "the string \"" + SpaceQuery.abbreviate(s) + "\"";
        if (v instanceof Number n) return "the number " + n;
        if (v instanceof Boolean b) return "the boolean " + b;
        if (v instanceof Map<?, ?>) return "an object";
        if (v instanceof List<?>) return "an array";
        return v.getClass().getSimpleName();
    }
}
