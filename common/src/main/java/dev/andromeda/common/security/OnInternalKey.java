package dev.andromeda.common.security;

import org.springframework.context.annotation.Condition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.core.type.AnnotatedTypeMetadata;

/** Matches when {@code m31.internal.key} is set to something other than blanks. */
public class OnInternalKey implements Condition {
    @Override
    public boolean matches(ConditionContext context, AnnotatedTypeMetadata metadata) {
        String key = context.getEnvironment().getProperty("m31.internal.key");
        return key != null && !key.isBlank();
    }
}
