package dev.andromeda.common.web;

import org.springframework.http.converter.json.JacksonJsonHttpMessageConverter;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JavaType;
import tools.jackson.databind.ObjectReader;
import tools.jackson.databind.json.JsonMapper;

/**
 * The services' JSON converter, refusing a request body that names a field its type does not
 * have: {@code "atrs"} for {@code "attrs"} made a space with no attributes, {@code
 * "versionning"} an unversioned one, {@code "mod": "sync"} an async channel — each a 201 for a
 * mistake. Now each is a 400 naming the field ({@code ProblemAdvice}), as Kubernetes' strict field
 * validation answers. Only requests read strictly: the shared mapper, with which services read
 * one another's answers, still ignores what it does not know, so a service may add a field to an
 * answer without breaking an older caller. Free-form members (attrs, labels, env, args) are maps
 * and take any name.
 */
public class StrictJsonBodies extends JacksonJsonHttpMessageConverter {

    public StrictJsonBodies(JsonMapper mapper) {
        super(mapper);
    }

    @Override
    protected ObjectReader customizeReader(ObjectReader reader, JavaType javaType) {
        return super.customizeReader(reader, javaType).with(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    }
}
