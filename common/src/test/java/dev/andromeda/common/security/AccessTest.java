package dev.andromeda.common.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.andromeda.common.problem.M31Problem;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AccessTest {

    static final Caller ALICE = Caller.of("alice", List.of());
    static final Caller BOB = Caller.of("bob", List.of());
    static final Caller CAROL = Caller.of("carol", List.of());
    static final Caller ROOT = Caller.of("root", List.of("admin"));
    static final Caller NODE = Caller.service("node:E0");

    @Test
    void ownerReadersAndWritersFromLabels() {
        Access a = Access.of(Map.of("owner", "alice", "readers", "bob, dave", "writers", "carol", "color", "red"));
        assertThat(a.canRead(ALICE)).isTrue();
        assertThat(a.canWrite(ALICE)).isTrue();
        assertThat(a.canAdminister(ALICE)).isTrue();
        assertThat(a.canRead(BOB)).isTrue();
        assertThat(a.canWrite(BOB)).isFalse();
        assertThat(a.canRead(CAROL)).isTrue();
        assertThat(a.canWrite(CAROL)).isTrue();
        assertThat(a.canAdminister(CAROL)).isFalse();
        Caller eve = Caller.of("eve", List.of());
        assertThat(a.canRead(eve)).isFalse();
        assertThat(a.canWrite(eve)).isFalse();
        assertThat(a.canRead(Caller.ANONYMOUS)).isFalse();
        assertThat(a.worldReadable()).isFalse();
        // admins and the mantle's own components may do everything
        assertThat(a.canAdminister(ROOT)).isTrue();
        assertThat(a.canWrite(NODE)).isTrue();
    }

    @Test
    void worldReadableMeansReadableWithoutATokenButNotWritable() {
        Access a = Access.of(Map.of("owner", "alice", "readers", "*"));
        assertThat(a.worldReadable()).isTrue();
        assertThat(a.canRead(Caller.ANONYMOUS)).isTrue();
        assertThat(a.canRead(BOB)).isTrue();
        assertThat(a.canWrite(BOB)).isFalse();
        assertThat(a.canWrite(Caller.ANONYMOUS)).isFalse();
    }

    @Test
    void refusalsAre403ProblemsAnd401ForTheAnonymous() {
        Access a = Access.of(Map.of("owner", "alice"));
        assertThatThrownBy(() -> a.requireWrite(BOB, "space words")).isInstanceOfSatisfying(M31Problem.class,
                p -> assertThat(p.status()).isEqualTo(403));
        assertThatThrownBy(() -> a.requireRead(Caller.ANONYMOUS, "space words")).isInstanceOfSatisfying(M31Problem.class,
                p -> assertThat(p.status()).isEqualTo(401));
        // a writer may change ordinary labels, not the access lists
        Access w = Access.of(Map.of("owner", "alice", "writers", "bob"));
        w.requireLabelChange(BOB, List.of("color"), "x");
        assertThatThrownBy(() -> w.requireLabelChange(BOB, List.of("readers"), "x")).isInstanceOf(M31Problem.class);
        w.requireLabelChange(ALICE, List.of("readers"), "x");
    }

    @Test
    void unownedResourcesStayOpenToAuthenticatedCallersAndNullMeansNoInternalAuth() {
        Access a = Access.of(Map.of());
        assertThat(a.canWrite(BOB)).isTrue();
        assertThat(a.canRead(Caller.ANONYMOUS)).isFalse();
        assertThat(Access.of(Map.of("owner", "alice")).canWrite(null)).isTrue();
    }

    @Test
    void adminOnlyOperations() {
        Access.requireAdmin(ROOT, "tcpdmp");
        Access.requireAdmin(null, "tcpdmp");
        assertThatThrownBy(() -> Access.requireAdmin(ALICE, "draining a node")).isInstanceOfSatisfying(M31Problem.class,
                p -> assertThat(p.status()).isEqualTo(403));
        assertThatThrownBy(() -> Access.requireAdmin(NODE, "draining a node")).isInstanceOf(M31Problem.class);
    }

    @Test
    void newResourcesAreOwnedByTheirCreator() {
        assertThat(Access.ownedBy(ALICE, Map.of("a", "1"))).containsEntry("owner", "alice").containsEntry("a", "1");
        assertThat(Access.ownedBy(NODE, Map.of())).doesNotContainKey("owner");
        // a user cannot make a resource someone else's; an admin can
        assertThat(Access.ownedBy(ALICE, Map.of("owner", "bob"))).containsEntry("owner", "alice");
        assertThat(Access.ownedBy(ROOT, Map.of("owner", "bob"))).containsEntry("owner", "bob");
    }
}
