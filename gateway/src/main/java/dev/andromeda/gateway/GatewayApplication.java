package dev.andromeda.gateway;

import dev.andromeda.common.boot.M31Service;
import java.util.Map;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/** The one entry to a constellation (Spring Cloud Gateway, reactive). */
@SpringBootApplication
public class GatewayApplication {

    public static final String NAME = "gateway";

    public static void main(String[] args) {
        M31Service.builder(GatewayApplication.class, NAME, WebApplicationType.REACTIVE, Map.of()).run(args);
    }
}
