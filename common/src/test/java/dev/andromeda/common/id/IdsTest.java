package dev.andromeda.common.id;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.andromeda.common.problem.M31Problem;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class IdsTest {

    @Test
    void newIdsAreValidUniqueAndSortByCreation() throws Exception {
        Set<String> seen = new HashSet<>();
        String previous = null;
        for (int i = 0; i < 2_000; i++) {
            String id = Ids.newId(Ids.FIBRIL);
            assertThat(Ids.isValid(id, Ids.FIBRIL)).as(id).isTrue();
            assertThat(seen.add(id)).isTrue();
            if (i % 500 == 0) {
                Thread.sleep(2);
                if (previous != null) assertThat(id.substring(3, 13)).isGreaterThan(previous.substring(3, 13));
                previous = id;
            }
        }
    }

    @Test
    void everySingleSubstitutionAndNeighbourSwapIsCaught() {
        String id = Ids.newId(Ids.CHANNEL);
        String alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        for (int i = 3; i < id.length() - 1; i++) {
            for (char c : alphabet.toCharArray()) {
                if (c == id.charAt(i)) continue;
                String forged = id.substring(0, i) + c + id.substring(i + 1);
                assertThat(Ids.isValid(forged, Ids.CHANNEL)).as(forged).isFalse();
            }
            if (i + 1 < id.length() - 1 && id.charAt(i) != id.charAt(i + 1)) {
                String swapped = id.substring(0, i) + id.charAt(i + 1) + id.charAt(i) + id.substring(i + 2);
                assertThat(Ids.isValid(swapped, Ids.CHANNEL)).as(swapped).isFalse();
            }
        }
    }

    @Test
    void anIdOfOneKindIsNotValidAsAnother() {
        String ch = Ids.newId(Ids.CHANNEL);
        assertThat(Ids.isValid("fb" + ch.substring(2), Ids.FIBRIL)).isFalse();
        assertThat(Ids.isValid(ch, Ids.FIBRIL)).isFalse();
    }

    @Test
    void requireAnswersA400NamingTheField() {
        assertThatThrownBy(() -> Ids.require("fb-'; drop table x", Ids.FIBRIL, "id"))
                .isInstanceOfSatisfying(M31Problem.class, p -> {
                    assertThat(p.status()).isEqualTo(400);
                    assertThat(p.field()).isEqualTo("id");
                });
        assertThatThrownBy(() -> Ids.require(null, Ids.FIBRIL, "id")).isInstanceOf(M31Problem.class);
    }
}
