export const id = 174;
export const ids = [174];
export const modules = {

/***/ 6174:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  runAsAction: () => (/* binding */ runAsAction),
  warnUnusedRootInputs: () => (/* binding */ warnUnusedRootInputs)
});

// UNUSED EXPORTS: actionsLogger, getInput

// EXTERNAL MODULE: ./node_modules/@actions/core/lib/core.js + 7 modules
var core = __webpack_require__(3838);
// EXTERNAL MODULE: ./src/commands/command.ts
var commands_command = __webpack_require__(3155);
// EXTERNAL MODULE: ./src/commands/schema.ts
var schema = __webpack_require__(9383);
// EXTERNAL MODULE: ./src/core/report.ts
var core_report = __webpack_require__(8557);
// EXTERNAL MODULE: ./src/util/errors.ts
var errors = __webpack_require__(17);
// EXTERNAL MODULE: ./src/util/log.ts
var log = __webpack_require__(9906);
// EXTERNAL MODULE: ./src/util/memory.ts + 2 modules
var memory = __webpack_require__(6265);
// EXTERNAL MODULE: ./src/util/secrets.ts
var secrets = __webpack_require__(4537);
// EXTERNAL MODULE: ./src/core/pipeline/process.ts
var pipeline_process = __webpack_require__(1267);
// EXTERNAL MODULE: ./src/core/postgres/install.ts + 2 modules
var install = __webpack_require__(4618);
;// CONCATENATED MODULE: ./src/hosts/actions-installer.ts
/**
 * The PgClientInstaller port for the actions: runs the core's InstallPlan (runInstallPlan) with
 * @actions/exec, restoring and saving the downloaded .deb files with @actions/cache so later runs skip
 * the download; the core judges restored files against apt's signed index before installing them.
 * Both are loaded only when an install is needed: @actions/cache (with the Azure storage SDK) would
 * otherwise double the bundle every action loads at start, and its memory.
 */



/** Each step with the minimal child environment; its output goes through the logger (no workflow commands). */
async function run(steps, log) {
    const exec = await Promise.resolve(/* import() */).then(__webpack_require__.bind(__webpack_require__, 1955));
    for (const [cmd, ...args] of steps) {
        log.info(`$ ${[cmd, ...args].join(' ')}`);
        await exec.exec(cmd, args, {
            env: (0,pipeline_process/* baseEnv */.zk)(),
            silent: true,
            listeners: { stdline: (l) => log.info(l), errline: (l) => log.info(l) },
        });
    }
}
const actionsPgClientInstaller = {
    async install(plan, log) {
        const cache = await Promise.all(/* import() */[__webpack_require__.e(830), __webpack_require__.e(691)]).then(__webpack_require__.bind(__webpack_require__, 1691));
        await (0,install/* runInstallPlan */.Iy)(plan, {
            run: (steps) => run(steps, log),
            async restore() {
                if (!cache.isFeatureAvailable())
                    return false;
                try {
                    const hit = await cache.restoreCache([plan.cacheDir], plan.cacheKey);
                    if (hit)
                        log.info(`${plan.package}: .deb files restored from the cache (${plan.cacheKey})`);
                    return hit !== undefined;
                }
                catch (err) {
                    log.warn(`could not restore the ${plan.package} cache: ${(0,errors/* describeError */.Uc)(err)}; downloading`);
                    return false;
                }
            },
            async save() {
                if (!cache.isFeatureAvailable())
                    return;
                try {
                    await cache.saveCache([plan.cacheDir], plan.cacheKey);
                    log.info(`${plan.package}: .deb files cached as ${plan.cacheKey}`);
                }
                catch (err) {
                    // Another job of the same run may have saved it first, or a refused entry still holds the
                    // key (entries are immutable): the install itself succeeded.
                    log.warn(`could not save the ${plan.package} cache: ${(0,errors/* describeError */.Uc)(err)}`);
                }
            },
        }, log);
    },
};

;// CONCATENATED MODULE: ./src/hosts/actions.ts
/** The one place that talks to the Actions runner: inputs, outputs, summary, secrets, cancel, failure. */









const getInput = (name) => core.getInput(name).trim();
/**
 * The root action declares every action's inputs; warns about those given that `command` does not take
 * (a typo in `command`, or an input meant for another action), so they are not silently ignored.
 */
function warnUnusedRootInputs(command, all) {
    const unused = new Set();
    for (const other of all) {
        for (const [name, input] of Object.entries(other.spec.inputs)) {
            if (name in command.spec.inputs || input.actionDefault)
                continue;
            if (getInput(name))
                unused.add(name);
        }
    }
    if (unused.size) {
        core.warning(`'${command.spec.name}' does not take ${[...unused].map((n) => `'${n}'`).join(', ')}: remove ${unused.size > 1 ? 'them' : 'it'} from 'with:' or check 'command'`);
    }
}
const actionsLogger = {
    // core.info prints as is; warning, debug, group and setFailed escape newlines themselves.
    info: (m) => core.info((0,log/* neutraliseWorkflowCommands */.WM)((0,secrets/* redact */.E$)(m))),
    warn: (m) => core.warning((0,secrets/* redact */.E$)(m)),
    debug: (m) => core.debug((0,secrets/* redact */.E$)(m)),
    group: (title, fn) => core.group(title, fn),
};
async function writeSummary(report) {
    if (!process.env.GITHUB_STEP_SUMMARY)
        return;
    try {
        await core.summary.addRaw((0,secrets/* redact */.E$)((0,core_report/* reportToMarkdown */.hd)(report)), true).write();
    }
    catch (err) {
        core.warning(`could not write the job summary: ${(0,errors/* describeError */.Uc)(err)}`);
    }
}
/**
 * Runs one command as an action: secrets go to core.setSecret, SIGINT/SIGTERM (the runner's cancel)
 * become an AbortSignal, and any error becomes one failed step with a message free of secrets.
 */
async function runAsAction(command) {
    (0,secrets/* onSecret */.IJ)((s) => core.setSecret(s));
    const controller = new AbortController();
    const cancel = (sig) => {
        core.warning(`received ${sig}: cancelling and cleaning up`);
        controller.abort(new errors/* CancelledError */.cc(`cancelled by ${sig}`));
    };
    process.once('SIGINT', () => cancel('SIGINT'));
    process.once('SIGTERM', () => cancel('SIGTERM'));
    const stopGovernor = command.streaming ? (0,memory/* startMemoryGovernor */.Q)() : () => { };
    try {
        const result = await command.run((0,schema/* boundInputs */.U6)(command.spec, getInput), {
            log: actionsLogger,
            signal: controller.signal,
            pgClientInstaller: actionsPgClientInstaller,
        });
        const failure = (0,commands_command/* failureOfResult */.fZ)(result);
        for (const [k, v] of Object.entries({ ...result.outputs, ...failure })) {
            core.setOutput(k, typeof v === 'string' ? (0,secrets/* redact */.E$)(v) : String(v));
        }
        for (const w of result.warnings ?? [])
            core.warning((0,secrets/* redact */.E$)(w));
        await writeSummary(result.report);
        if (result.failure)
            core.setFailed((0,secrets/* redact */.E$)(result.failure));
    }
    catch (err) {
        // On every failure path, also a UserError before any I/O: what failed, for notify's `error`/`failure-kind`.
        for (const [k, v] of Object.entries((0,commands_command/* failureOfError */.m$)(command, err)))
            core.setOutput(k, v);
        const message = (0,secrets/* redact */.E$)(err instanceof errors/* UserError */.yo ? err.message : (0,errors/* describeError */.Uc)(err));
        if (!(err instanceof errors/* UserError */.yo) && err instanceof Error && err.stack)
            core.debug((0,secrets/* redact */.E$)(err.stack));
        await writeSummary((0,core_report/* reportOf */.EI)(err) ?? {
            title: `${command.spec.name} failed`,
            status: 'failure',
            headline: message,
            facts: [],
            tables: [],
        });
        core.setFailed(message);
    }
    finally {
        stopGovernor();
    }
}


/***/ })

};
