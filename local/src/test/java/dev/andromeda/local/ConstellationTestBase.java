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
        if (constellation != null) constellation.close();
        constellation = null;
    }
}
