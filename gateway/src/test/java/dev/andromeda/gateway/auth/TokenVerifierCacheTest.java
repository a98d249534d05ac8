package dev.andromeda.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Verified tokens are remembered by their exact text, and only until they expire. */
class TokenVerifierCacheTest {

    static final String SECRET = "test-secret-of-at-least-thirty-two-bytes!";
    final TokenVerifier verifier = new TokenVerifier(SECRET, Tokens.ISSUER, Duration.ZERO);

    @Test
    void aGoodTokenIsRememberedUntilItExpiresAndThenRefused() throws Exception {
        String token = Tokens.mint(SECRET, "alice", List.of("dev"), Duration.ofSeconds(2));
        assertThat(verifier.known(token)).isNull();
        assertThat(verifier.verify(token)).isEqualTo(new TokenVerifier.Identity("alice", List.of("dev")));
        assertThat(verifier.known(token)).isEqualTo(new TokenVerifier.Identity("alice", List.of("dev")));
        Thread.sleep(2_200);
        assertThat(verifier.known(token)).isNull();
        assertThatThrownBy(() -> verifier.verify(token)).hasMessageContaining("expired");
        assertThat(verifier.known(token)).isNull();
    }

    @Test
    void badTokensAreNeverRemembered() throws Exception {
        String forged = Tokens.mint("another-secret-that-is-also-32-bytes-long", "alice", List.of("admin"), Duration.ofMinutes(5));
        String expired = Tokens.mint(SECRET, "alice", List.of(), Duration.ofMinutes(-5));
        for (String t : List.of(forged, expired, "not.a.jwt")) {
            assertThatThrownBy(() -> verifier.verify(t)).isInstanceOf(TokenVerifier.InvalidToken.class);
            assertThatThrownBy(() -> verifier.verify(t)).isInstanceOf(TokenVerifier.InvalidToken.class);
            assertThat(verifier.known(t)).isNull();
        }
        assertThat(verifier.cached()).isZero();
        // a token differing in one character of its signature is another string: verified afresh, refused
        String good = Tokens.mint(SECRET, "alice", List.of(), Duration.ofMinutes(5));
        assertThat(verifier.verify(good)).isNotNull();
        assertThat(verifier.cached()).isEqualTo(1);
        char c = good.charAt(good.length() - 2);
        String tampered = good.substring(0, good.length() - 2) + (c == 'A' ? 'B' : 'A') + good.charAt(good.length() - 1);
        assertThatThrownBy(() -> verifier.verify(tampered)).hasMessageContaining("signature");
    }
}
