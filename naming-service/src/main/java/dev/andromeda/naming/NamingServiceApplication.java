package dev.andromeda.naming;

import dev.andromeda.common.boot.M31Service;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/** Bindings with generations, aliases and resolution: where every resource lives now. */
@SpringBootApplication
public class NamingServiceApplication {

    /** Also the name of its config file ({@code naming-service.yml}): see {@link M31Service}. */
    public static final String NAME = "naming-service";

    public static void main(String[] args) {
        M31Service.run(NamingServiceApplication.class, NAME, args);
    }
}
