package dev.andromeda.local;

import org.springframework.boot.autoconfigure.AutoConfigurationImportFilter;
import org.springframework.boot.autoconfigure.AutoConfigurationMetadata;

/**
 * The local constellation puts every service on one classpath, so the servlet services see
 * Spring Cloud Gateway's jars. Its guard against a gateway accidentally mixed with Spring MVC
 * would then stop them; in a cluster each service has its own classpath and never meets it.
 * The gateway itself is reactive and never loads this guard.
 */
public class OneJvmAutoConfigurationFilter implements AutoConfigurationImportFilter {

    private static final String MVC_GUARD = "org.springframework.cloud.gateway.config.GatewayClassPathWarningAutoConfiguration";

    @Override
    public boolean[] match(String[] candidates, AutoConfigurationMetadata metadata) {
        boolean[] keep = new boolean[candidates.length];
        for (int i = 0; i < candidates.length; i++) keep[i] = !MVC_GUARD.equals(candidates[i]);
        return keep;
    }
}
