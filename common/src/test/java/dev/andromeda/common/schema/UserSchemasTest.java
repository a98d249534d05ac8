package dev.andromeda.common.schema;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class UserSchemasTest {

    static final JsonMapper JSON = JsonMapper.builder().build();

    static JsonNode j(String s) { return JSON.readTree(s); }

    @Test
    void schemasThatAreSchemasPass() {
        for (String ok : new String[] {"true", "false", "{}", "{\"type\":\"integer\",\"minimum\":0}",
                "{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":\"#/$defs/n\"}},\"$defs\":{\"n\":{\"type\":\"number\"}}}",
                // another draft declared: its own rules (items as an array is draft-07, not 2020-12)
                "{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"type\":\"array\",\"items\":[{\"type\":\"integer\"}]}"}) {
            assertThatCode(() -> UserSchemas.check(j(ok))).as(ok).doesNotThrowAnyException();
        }
    }

    @Test
    void aSchemaThatIsNoSchemaIsRefusedSayingWhere() {
        assertThatThrownBy(() -> UserSchemas.check(j("{\"type\":\"Str\"}"))).isInstanceOf(UserSchemas.Unusable.class)
                .hasMessageContaining("/type").hasMessageContaining("in a JSON Schema it is \"string\"");
        assertThatThrownBy(() -> UserSchemas.check(j("{\"properties\":{\"a\":{\"minLength\":\"3\"}}}")))
                .hasMessageContaining("/properties/a/minLength");
        assertThatThrownBy(() -> UserSchemas.check(j("{\"items\":[{\"type\":\"integer\"}]}"))).hasMessageContaining("/items");
    }

    @Test
    void aSchemaMayNotReferOutsideItself() {
        assertThatThrownBy(() -> UserSchemas.check(j("{\"properties\":{\"a\":{\"$ref\":\"http://evil.example/s.json\"}}}")))
                .isInstanceOf(UserSchemas.Unusable.class).hasMessageContaining("only refer inside itself");
        assertThatThrownBy(() -> UserSchemas.check(j("{\"$dynamicRef\":\"file:///etc/passwd\"}"))).hasMessageContaining("file:///etc/passwd");
    }
}
