package org.sparkmim.model.method;

import org.sparkmim.model.a2mim.A2mimMethod;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.emae.EmaeMethod;
import org.sparkmim.model.mae.MaeMethod;
import org.sparkmim.model.ropim.RopimMethod;
import org.sparkmim.model.sbam.SbamMethod;

/** method.name → MimMethod. Adding a method = one class + one line here + its tests. */
public final class Methods {
    private Methods() { }

    public static MimMethod create(MimConfig cfg) {
        return switch (cfg.method.name()) {
            case "mae" -> new MaeMethod(cfg.model, cfg.method);
            case "emae" -> new EmaeMethod(cfg.model, cfg.method);
            case "sbam" -> new SbamMethod(cfg.model, cfg.method);
            case "ropim" -> new RopimMethod(cfg.model, cfg.method);
            case "a2mim" -> new A2mimMethod(cfg.model, cfg.method);
            case "mapet" -> new org.sparkmim.model.mapet.MapetMethod(cfg.model, cfg.method);
            case "finetune" -> new org.sparkmim.model.finetune.FinetuneMethod(cfg.model, cfg.finetune);
            default -> throw new IllegalArgumentException("method.name=" + cfg.method.name()
                    + " is not known; allowed: mae, emae, sbam, ropim, a2mim, mapet, finetune");
        };
    }
}
