package dev.andromeda.naming;

import dev.andromeda.api.model.Binding;
import dev.andromeda.common.problem.M31Problem;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Repository;
import org.springframework.transaction.annotation.Transactional;

/** The bindings table: one row per named resource, with its generation and a tombstone flag. */
@Repository
public class BindingStore {

    private static final String COLUMNS = "id, kind, node, url, generation, gone";

    private final JdbcTemplate jdbc;

    public BindingStore(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    public Optional<Binding> find(String id) {
        return jdbc.query("select " + COLUMNS + " from bindings where id = ?", BindingStore::row, id).stream().findFirst();
    }

    public List<Binding> live(Binding.KindEnum kind) {
        return jdbc.query("select " + COLUMNS + " from bindings where kind = ? and not gone order by id", BindingStore::row, kind.getValue());
    }

    /**
     * Creates or updates a binding under a row lock. Generation rules: absent → 1 on create,
     * +1 when the place (node or url) changes or a tombstone is revived, unchanged otherwise;
     * given → must not be lower than the stored one, and a different place at the same
     * generation is a conflicting writer too (both are 409).
     */
    @Transactional
    public Binding put(String id, Binding b) {
        for (int attempt = 0; attempt < 3; attempt++) {
            Optional<Binding> current = jdbc.query("select " + COLUMNS + " from bindings where id = ? for update",
                    BindingStore::row, id).stream().findFirst();
            if (current.isEmpty()) {
                long gen = b.getGeneration() == null ? 1 : b.getGeneration();
                int n = jdbc.update("insert into bindings (id, kind, node, url, generation, gone, updated) "
                                + "values (?, ?, ?, ?, ?, false, now()) on conflict (id) do nothing",
                        id, b.getKind().getValue(), b.getNode(), b.getUrl(), gen);
                if (n == 1) return copy(id, b, gen);
                continue; // someone created it between our select and insert: lock it and decide again
            }
            Binding old = current.get();
            if (old.getKind() != b.getKind()) {
                throw M31Problem.conflict(id + " is bound as a " + old.getKind().getValue() + ", not a " + b.getKind().getValue());
            }
            boolean moved = !Objects.equals(old.getNode(), b.getNode()) || !Objects.equals(old.getUrl(), b.getUrl());
            boolean revived = Boolean.TRUE.equals(old.getGone());
            long stored = old.getGeneration();
            long gen;
            if (b.getGeneration() == null) {
                gen = moved || revived ? stored + 1 : stored;
            } else {
                gen = b.getGeneration();
                if (gen < stored) {
                    throw new M31Problem(409, "stale-generation", "generation " + gen + " of " + id
                            + " is stale: the binding is at generation " + stored, "generation");
                }
                if (gen == stored && (moved || revived)) {
                    throw new M31Problem(409, "stale-generation", id + " is already bound elsewhere at generation " + stored
                            + "; a move needs a higher generation", "generation");
                }
            }
            jdbc.update("update bindings set node = ?, url = ?, generation = ?, gone = false, updated = now() where id = ?",
                    b.getNode(), b.getUrl(), gen, id);
            return copy(id, b, gen);
        }
        throw M31Problem.conflict("concurrent writers on " + id + ", try again");
    }

    /** Marks the binding gone; false when there is no such binding. */
    public boolean markGone(String id) {
        return jdbc.update("update bindings set gone = true, updated = now() where id = ?", id) == 1;
    }

    private static Binding copy(String id, Binding b, long gen) {
        return new Binding().id(id).kind(b.getKind()).node(b.getNode()).url(b.getUrl()).generation(gen).gone(false);
    }

    private static Binding row(ResultSet rs, int i) throws SQLException {
        return new Binding()
                .id(rs.getString("id"))
                .kind(Binding.KindEnum.fromValue(rs.getString("kind")))
                .node(rs.getString("node"))
                .url(rs.getString("url"))
                .generation(rs.getLong("generation"))
                .gone(rs.getBoolean("gone"));
    }
}
