package dev.andromeda.local;

import java.net.http.HttpClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import tools.jackson.databind.json.JsonMapper;

/** One constellation per end-to-end test class, started before its tests and closed after them. */
abstract class ConstellationTestBase {

    static Constellation constellation;
    static final HttpClient http = HttpClient.newHttpClient();
    static final JsonMapper json = JsonMapper.builder().build();

    @BeforeAll
    static void bootConstellation() throws Exception {
        constellation = Constellation.start(Constellation.Options.forTests());
    }

    @AfterAll
    static void closeConstellation() {
        if (constellation == null) return;
        java.nio.file.Path home = constellation.home();
        constellation.close();
        constellation = null;
        // a test's home (its secret and token) goes with it: every run left ~10 of them in /tmp
        org.assertj.core.api.Assertions.assertThat(home).doesNotExist();
    }
}
