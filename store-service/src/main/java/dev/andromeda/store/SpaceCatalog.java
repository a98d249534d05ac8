package dev.andromeda.store;

import dev.andromeda.api.model.Space;
import dev.andromeda.api.model.SpaceOpts;
import dev.andromeda.api.model.SpaceSpec;
import dev.andromeda.common.problem.M31Problem;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/** The spaces: their definitions (table {@code spaces}) and their tables (mkdir, rm). */
@Service
class SpaceCatalog {

    private static final TypeReference<TreeMap<String, String>> STRING_MAP = new TypeReference<>() {};

    private final JdbcClient jdbc;
    private final TransactionTemplate tx;
    private final JsonMapper json;

    SpaceCatalog(JdbcClient jdbc, TransactionTemplate tx, JsonMapper json) {
        this.jdbc = jdbc;
        this.tx = tx;
        this.json = json;
    }

    record Made(SpaceType type, boolean created) {}

    /** Checks a spec and normalizes it (defaults filled in, key attribute out of attrs). */
    SpaceType validate(String name, SpaceSpec spec) {
        if (name == null || !SpaceType.SPACE_NAME.matcher(name).matches()) {
            throw M31Problem.badRequest("space", "a space name is 1-63 of [a-z0-9_], starting with a letter");
        }
        String key = spec.getKey();
        if (key == null || key.isEmpty()) throw M31Problem.unprocessable("key", "key (the name of the key attribute) is required");
        checkAttrName("key", key);
        Map<String, String> rawAttrs = spec.getAttrs() == null ? Map.of() : spec.getAttrs();
        if (rawAttrs.size() > SpaceType.MAX_ATTRS) {
            throw M31Problem.unprocessable("attrs", "at most " + SpaceType.MAX_ATTRS + " attributes");
        }
        TreeMap<String, AttrType> attrs = new TreeMap<>();
        for (var e : rawAttrs.entrySet()) {
            String field = "attrs." + e.getKey();
            checkAttrName(field, e.getKey());
            AttrType t = AttrType.parse(e.getValue());
            if (t == null) {
                throw M31Problem.unprocessable(field, "unknown type '" + e.getValue() + "'; types are Int, Float, Str, Bool, Time, Any");
            }
            if (e.getKey().equals(key)) {
                if (t != AttrType.Str) throw M31Problem.unprocessable(field, "the key attribute " + key + " is a Str, not " + t);
                continue;
            }
            attrs.put(e.getKey(), t);
        }
        TreeMap<String, String> labels = new TreeMap<>();
        if (spec.getLabels() != null) {
            for (var e : spec.getLabels().entrySet()) {
                if (e.getKey().isEmpty() || e.getKey().length() > 256 || e.getValue() == null || e.getValue().indexOf('\0') >= 0
                        || e.getKey().indexOf('\0') >= 0) {
                    throw M31Problem.unprocessable("labels." + e.getKey(), "a label is a non-empty name (≤ 256) with a string value");
                }
                labels.put(e.getKey(), e.getValue());
            }
        }
        SpaceOpts o = spec.getOpts();
        int partitions = o == null || o.getPartitions() == null ? 1 : o.getPartitions();
        int failures = o == null || o.getFailures() == null ? 0 : o.getFailures();
        boolean versioning = o != null && Boolean.TRUE.equals(o.getVersioning());
        if (partitions < 1 || partitions > SpaceType.MAX_PARTITIONS) {
            throw M31Problem.unprocessable("opts.partitions", "partitions is 1.." + SpaceType.MAX_PARTITIONS);
        }
        if (failures < 0 || failures > SpaceType.MAX_FAILURES) {
            throw M31Problem.unprocessable("opts.failures", "failures is 0.." + SpaceType.MAX_FAILURES);
        }
        return new SpaceType(name, SpaceType.tableFor(name), key, attrs, labels, partitions, failures, versioning, null);
    }

    private static void checkAttrName(String field, String n) {
        if (!SpaceType.ATTR_NAME.matcher(n).matches()) {
            throw M31Problem.unprocessable(field, "an attribute name is 1-63 of [A-Za-z0-9_], not starting with a digit");
        }
        if (SpaceType.RESERVED.contains(n)) {
            throw M31Problem.unprocessable(field, "'" + n + "' is reserved (a query parameter); choose another name");
        }
    }

    /** mkdir: creates the space, or finds it with the same definition; 409 on a different one. */
    Made make(SpaceType want) {
        return tx.execute(status -> {
            int inserted = jdbc.sql("""
                    insert into spaces (name, tbl, key_attr, attrs, labels, partitions, failures, versioning)
                    values (?, ?, ?, ?::jsonb, ?::jsonb, ?, ?, ?) on conflict (name) do nothing""")
                    .params(want.name(), want.table(), want.keyAttr(), json.writeValueAsString(want.attrNames()),
                            json.writeValueAsString(want.labels()), want.partitions(), want.failures(), want.versioning())
                    .update();
            if (inserted == 0) {
                SpaceType have = find(want.name());
                if (have == null) throw M31Problem.conflict("space " + want.name() + " is being changed; retry");
                if (!have.sameDefinition(want)) {
                    throw M31Problem.conflict("space " + want.name() + " exists with another definition");
                }
                return new Made(have, false);
            }
            for (String ddl : want.ddl()) {
                jdbc.sql(ddl).update();
            }
            return new Made(find(want.name()), true);
        });
    }

    SpaceType find(String name) {
        return jdbc.sql("select * from spaces where name = ?").param(name).query(this::map).optional().orElse(null);
    }

    /** The space, or a 404 problem. */
    SpaceType require(String name) {
        if (name == null || !SpaceType.SPACE_NAME.matcher(name).matches()) {
            throw M31Problem.badRequest("space", "a space name is 1-63 of [a-z0-9_], starting with a letter");
        }
        SpaceType t = find(name);
        if (t == null) throw M31Problem.notFound("no space " + name);
        return t;
    }

    List<SpaceType> list(String keyAttr) {
        if (keyAttr == null) return jdbc.sql("select * from spaces order by name").query(this::map).list();
        return jdbc.sql("select * from spaces where key_attr = ? order by name").param(keyAttr).query(this::map).list();
    }

    /** rm: drops the space's table and definition together. */
    boolean remove(String name) {
        return Boolean.TRUE.equals(tx.execute(status -> {
            String tbl = jdbc.sql("delete from spaces where name = ? returning tbl").param(name)
                    .query(String.class).optional().orElse(null);
            if (tbl == null) return false;
            // tbl was derived from a validated name when the space was made; check again anyway
            if (!tbl.equals(SpaceType.tableFor(name))) throw new IllegalStateException("unexpected table for " + name);
            jdbc.sql("drop table if exists " + tbl).update();
            jdbc.sql("delete from applied_batches where space = ?").param(name).update();
            return true;
        }));
    }

    /** How many objects: exact for small spaces, the planner's estimate for big ones. */
    long objects(SpaceType t) {
        Long estimate = jdbc.sql("""
                select coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint from pg_class c
                where c.oid = to_regclass(?) or c.oid in (select inhrelid from pg_inherits where inhparent = to_regclass(?))""")
                .params(t.table(), t.table()).query(Long.class).single();
        if (estimate != null && estimate > 100_000) return estimate;
        return jdbc.sql("select count(*) from " + t.table()).query(Long.class).single();
    }

    Space view(SpaceType t) {
        Space s = new Space();
        s.setName(t.name());
        s.setKey(t.keyAttr());
        s.setAttrs(new java.util.HashMap<>(t.attrNames()));
        s.setLabels(new java.util.HashMap<>(t.labels()));
        SpaceOpts o = new SpaceOpts();
        o.setPartitions(t.partitions());
        o.setFailures(t.failures());
        o.setVersioning(t.versioning());
        s.setOpts(o);
        s.setEffectiveFailures(SpaceType.EFFECTIVE_FAILURES);
        s.setObjects(objects(t));
        s.setCreated(t.created());
        return s;
    }

    private SpaceType map(ResultSet rs, int row) throws SQLException {
        TreeMap<String, String> names = json.readValue(rs.getString("attrs"), STRING_MAP);
        TreeMap<String, AttrType> attrs = new TreeMap<>();
        names.forEach((k, v) -> attrs.put(k, AttrType.valueOf(v)));
        return new SpaceType(rs.getString("name"), rs.getString("tbl"), rs.getString("key_attr"), attrs,
                json.readValue(rs.getString("labels"), STRING_MAP), rs.getInt("partitions"), rs.getInt("failures"),
                rs.getBoolean("versioning"), rs.getObject("created", OffsetDateTime.class));
    }
}
