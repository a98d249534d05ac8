package dev.andromeda.naming;

import java.time.OffsetDateTime;
import java.util.Optional;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Repository;
import org.springframework.transaction.annotation.Transactional;

/** Aliases and public names, each owned by whoever made it. */
@Repository
public class NameStore {

    /** One row: name → uri (or channel), its target id, its owner. */
    public record Named(String name, String uri, String target, String owner, OffsetDateTime created) {}

    private final JdbcTemplate jdbc;

    public NameStore(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    public Optional<Named> alias(String name) {
        return jdbc.query("select name, uri, target, owner, created from aliases where name = ?",
                (rs, i) -> new Named(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                        rs.getObject(5, OffsetDateTime.class)), name).stream().findFirst();
    }

    /**
     * Creates the alias for {@code owner}, or re-points it when {@code mayChange} accepts the
     * current owner; returns the row as stored, or empty when the alias is someone else's.
     */
    @Transactional
    public Optional<Named> putAlias(String name, String uri, String target, String owner, java.util.function.Predicate<String> mayChange) {
        Optional<Named> current = jdbc.query("select name, uri, target, owner, created from aliases where name = ? for update",
                (rs, i) -> new Named(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                        rs.getObject(5, OffsetDateTime.class)), name).stream().findFirst();
        if (current.isEmpty()) {
            int n = jdbc.update("insert into aliases (name, uri, target, owner) values (?, ?, ?, ?) on conflict (name) do nothing",
                    name, uri, target, owner);
            if (n == 0) return putAlias(name, uri, target, owner, mayChange);
        } else {
            if (!mayChange.test(current.get().owner())) return Optional.empty();
            jdbc.update("update aliases set uri = ?, target = ?, updated = now() where name = ?", uri, target, name);
        }
        return alias(name);
    }

    public boolean deleteAlias(String name) {
        return jdbc.update("delete from aliases where name = ?", name) == 1;
    }

    public Optional<Named> pub(String name) {
        return jdbc.query("select name, channel, owner, created from public_names where name = ?",
                (rs, i) -> new Named(rs.getString(1), "/ch/" + rs.getString(2), rs.getString(2), rs.getString(3),
                        rs.getObject(4, OffsetDateTime.class)), name).stream().findFirst();
    }

    @Transactional
    public Optional<Named> putPub(String name, String channel, String owner, java.util.function.Predicate<String> mayChange) {
        Optional<Named> current = jdbc.query("select name, channel, owner, created from public_names where name = ? for update",
                (rs, i) -> new Named(rs.getString(1), "/ch/" + rs.getString(2), rs.getString(2), rs.getString(3),
                        rs.getObject(4, OffsetDateTime.class)), name).stream().findFirst();
        if (current.isEmpty()) {
            int n = jdbc.update("insert into public_names (name, channel, owner) values (?, ?, ?) on conflict (name) do nothing",
                    name, channel, owner);
            if (n == 0) return putPub(name, channel, owner, mayChange);
        } else {
            if (!mayChange.test(current.get().owner())) return Optional.empty();
            jdbc.update("update public_names set channel = ?, updated = now() where name = ?", channel, name);
        }
        return pub(name);
    }

    public boolean deletePub(String name) {
        return jdbc.update("delete from public_names where name = ?", name) == 1;
    }
}
