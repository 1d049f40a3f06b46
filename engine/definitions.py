"""Loading and validating BPMN + DMN deployment bundles.

Pure (no database, no Flask): bytes in, SpiffWorkflow specs out. A bundle is
all-or-nothing; the first problem found raises `DefinitionError` naming file,
line and element id, so `fengqiao deploy` can point the modeller at it.

Checks run in this order, each over all files (sorted by name) before the next:
XML syntax, XSD schema, then references and expressions in document order, and
finally SpiffWorkflow's own parser. Our own checks come first because
SpiffWorkflow silently drops some broken references (a sequence flow from a
missing source, a boundary event attached to a missing activity), reports others
against the wrong element, and never reports line numbers (its
ValidationException reads `node.line_number`, which lxml elements do not have).

Expressions are only compiled, never evaluated.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SERIALIZER_VERSION
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as DMN_SCHEMAS
from SpiffWorkflow.spiff.parser import VALIDATOR as BPMN_VALIDATOR
from SpiffWorkflow.spiff.parser import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

__all__ = [
    'DefinitionError', 'ProcessDefinition', 'parse_files', 'load_directory',
    'spec_to_dict', 'spec_from_dict', 'content_hash', 'task_properties',
]

BPMN_NS = 'http://www.omg.org/spec/BPMN/20100524/MODEL'
SPIFF_NS = 'http://spiffworkflow.org/bpmn/schema/1.0/core'
NS = {'bpmn': BPMN_NS, 'spiffworkflow': SPIFF_NS}
_PREFIXES = {BPMN_NS: 'bpmn:', SPIFF_NS: 'spiffworkflow:', **{ns: 'dmn:' for ns in DMN_SCHEMAS}}

# Elements whose children may hold sequence flows and flow nodes.
_CONTAINERS = {'process', 'subProcess', 'transaction', 'adHocSubProcess'}
# DMNEngine supports only these (model.HitPolicy); others would run with wrong semantics.
_HIT_POLICIES = {'UNIQUE', 'COLLECT'}

# BPMN expression elements: (namespace, local name) -> (compile mode, Chinese, English label).
# Spiff evals/execs their text verbatim, so compiling the same text is a faithful check.
_TIMER = ('eval', '计时器表达式无法编译', 'timer expression does not compile')
_COND = ('eval', '条件表达式无法编译', 'condition expression does not compile')
_SCRIPT = ('exec', '脚本无法编译', 'script does not compile')
_EXPR = ('eval', '表达式无法编译', 'expression does not compile')
_BPMN_EXPRESSIONS = {
    (BPMN_NS, 'timeDate'): _TIMER, (BPMN_NS, 'timeDuration'): _TIMER, (BPMN_NS, 'timeCycle'): _TIMER,
    (BPMN_NS, 'conditionExpression'): _COND, (BPMN_NS, 'condition'): _COND,
    (BPMN_NS, 'loopCondition'): _COND, (BPMN_NS, 'completionCondition'): _COND,
    (BPMN_NS, 'loopCardinality'): _EXPR,
    (BPMN_NS, 'script'): _SCRIPT,
    (SPIFF_NS, 'preScript'): _SCRIPT, (SPIFF_NS, 'postScript'): _SCRIPT,
    (SPIFF_NS, 'messagePayload'): _EXPR,
}
# Runtime fails on an empty timer or script, while an empty condition means "no condition".
_MUST_HAVE_TEXT = {'timeDate', 'timeDuration', 'timeCycle', 'script'}

# Same substitution DMNEngine.evaluate applies: '?' outside quotes stands for the input value.
_DMN_QMARK = re.compile(r'(\?)(?=(?:[^\'"]|[\'"][^\'"]*[\'"])*$)')

_REGISTRY = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
# lxml schema objects keep their error log on the instance; deployments are rare, so serialize.
_SCHEMA_LOCK = threading.Lock()
_DMN_VALIDATORS: dict[str, BpmnValidator] = {}


class DefinitionError(Exception):
    """An invalid deployment bundle; `message` is Chinese first, then ' / ' English."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None,
                 element_id: str | None = None):
        super().__init__(message)
        self.message, self.file, self.line, self.element_id = message, file, line, element_id

    def __str__(self) -> str:
        where = (self.file or '') + (f':{self.line}' if self.line else '')
        if self.element_id:
            where += f' [{self.element_id}]' if where else f'[{self.element_id}]'
        return f'{where}: {self.message}' if where else self.message


@dataclass
class ProcessDefinition:
    key: str                      # the bpmn:process id
    name: str
    spec: BpmnProcessSpec
    subprocess_specs: dict
    spec_dict: dict = field(repr=False)   # spec_to_dict(spec, subprocess_specs)
    content_hash: str
    files: dict[str, str] = field(repr=False)  # file name -> text it came from


def _msg(zh: str, en: str, detail: object = None) -> str:
    return f'{zh} / {en}' + (f': {detail}' if detail not in (None, '') else '')


def _error(file, el, zh, en, detail=None, line=None) -> DefinitionError:
    owner = _owner(el) if el is not None else None
    return DefinitionError(_msg(zh, en, detail), file,
                           line or (el.sourceline if el is not None else None),
                           owner.get('id') if owner is not None else None)


def _local(el) -> str:
    return etree.QName(el).localname


def _owner(el):
    """The element a modeller would click on: nearest ancestor-or-self with an id,
    skipping event definitions and expression holders (bpmn.io hides those ids)."""
    for node in (el, *el.iterancestors()):
        name = _local(node)
        if node.get('id') and not name.endswith(('EventDefinition', 'Characteristics', 'Expression')):
            return node
    return None


def _short(text: str) -> str:
    for ns, prefix in _PREFIXES.items():
        text = text.replace('{%s}' % ns, prefix)
    return text


# ---------------------------------------------------------------- parsing

def parse_files(files: Mapping[str, bytes]) -> dict[str, ProcessDefinition]:
    """Parse a bundle of `*.bpmn` / `*.dmn` files (other names are ignored) into one
    ProcessDefinition per executable top-level process, or raise DefinitionError."""
    docs: dict[str, tuple[str, etree._Element]] = {}
    for name in sorted(files):
        kind = Path(name).suffix.lower()
        if kind in ('.bpmn', '.dmn'):
            docs[name] = (kind, _parse_xml(name, files[name]))
    if not docs:
        raise DefinitionError(_msg('部署包中没有 BPMN 或 DMN 文件', 'bundle contains no BPMN or DMN file'))

    for name, (kind, root) in docs.items():
        _check_schema(name, kind, root)

    index = _Index(docs)
    for name, (kind, root) in docs.items():
        (_check_bpmn if kind == '.bpmn' else _check_dmn)(name, root, index)

    executable = [(pid, name, el) for pid, (name, el) in index.processes.items()
                  if el.get('isExecutable') == 'true']
    if not executable:
        first = next(iter(index.processes.values()), (None, None))
        raise _error(first[0], first[1], '没有可执行的流程', 'no executable process (isExecutable="true")')

    parser = SpiffBpmnParser()  # no validator: the same XSDs already ran above, with better errors
    try:
        for name, (kind, root) in docs.items():
            if kind == '.bpmn':
                parser.add_bpmn_xml(root, filename=name)
            else:
                parser.add_dmn_xml(root, filename=name)
        parsed = {pid: (parser.get_spec(pid), parser.get_subprocess_specs(pid)) for pid, _, _ in executable}
    except ValidationException as exc:
        raise _from_spiff(exc, docs) from exc
    except Exception as exc:  # parser internals (KeyError, AttributeError …) on odd input
        raise DefinitionError(_msg('流程定义无法解析', 'definition cannot be parsed', repr(exc))) from exc

    texts = {name: _decode(files[name], root) for name, (_, root) in docs.items()}
    result = {}
    for pid, name, el in executable:
        spec, subprocess_specs = parsed[pid]
        spec_dict = spec_to_dict(spec, subprocess_specs)
        used = _source_files(pid, subprocess_specs, index)
        sources = {n: texts[n] for n in sorted(used)}
        # The diagram counts too: a version's cases are drawn on it, so a new layout is a new version.
        result[pid] = ProcessDefinition(
            key=pid, name=el.get('name') or pid, spec=spec, subprocess_specs=subprocess_specs,
            spec_dict=spec_dict, content_hash=content_hash(spec_dict, _diagram(docs, used)),
            files=sources)
    return result


def load_directory(path) -> dict[str, ProcessDefinition]:
    """Parse the `*.bpmn` and `*.dmn` files directly in `path` (subfolders such as
    forms/ are not read). File names, not paths, go into the specs, so the hash
    does not depend on where the bundle lives."""
    folder = Path(path)
    return parse_files({p.name: p.read_bytes() for p in sorted(folder.iterdir())
                        if p.is_file() and p.suffix.lower() in ('.bpmn', '.dmn')})


def _parse_xml(name: str, data: bytes | str) -> etree._Element:
    if isinstance(data, str):
        data = data.encode('utf-8')
    # Comments are dropped because Spiff's ScriptTask and DMN parsers call
    # `child.tag.endswith(...)` on every child and crash on comment nodes; dropping
    # them also keeps the hash independent of comments. No entities, no network.
    parser = etree.XMLParser(remove_comments=True, remove_pis=True,
                             resolve_entities=False, no_network=True)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise DefinitionError(_msg('XML 格式错误', 'malformed XML', exc.msg), name, exc.lineno) from exc


def _decode(data: bytes | str, root) -> str:
    if isinstance(data, str):
        return data
    return data.decode(root.getroottree().docinfo.encoding or 'utf-8')


def _check_schema(name: str, kind: str, root) -> None:
    if kind == '.bpmn':
        validator = BPMN_VALIDATOR
        validator.preprocess(root)  # Spiff's own fix-up for bpmn.io correlation XML
    else:
        ns = etree.QName(root).namespace
        if ns not in DMN_SCHEMAS:
            raise _error(name, root, '不支持的 DMN 版本', 'unsupported DMN namespace', ns)
        validator = _DMN_VALIDATORS.get(ns) or _DMN_VALIDATORS.setdefault(ns, BpmnValidator(DMN_SCHEMAS[ns]))
    with _SCHEMA_LOCK:
        if validator.validator.validate(root):
            return
        err = validator.validator.error_log[0]
        line, message = err.line, err.message
    # Find the offending element: the one on the reported line named in the message.
    tag = re.match(r"Element '([^']+)'", message)
    on_line = [el for el in root.iter() if el.sourceline == line]
    el = next((e for e in on_line if tag and e.tag == tag.group(1)), on_line[0] if on_line else None)
    raise _error(name, el, '不符合 XML 模式 (XSD)', 'schema violation', _short(message), line=line)


class _Index:
    """Bundle-wide names that references may point at."""

    def __init__(self, docs):
        self.processes: dict[str, tuple[str, etree._Element]] = {}
        self.decisions: dict[str, str] = {}
        self.errors: set[str] = set()
        self.escalations: set[str] = set()
        for name, (kind, root) in docs.items():
            if kind == '.bpmn':
                for el in root.iterfind('bpmn:process', NS):
                    self.processes.setdefault(el.get('id'), (name, el))
                self.errors.update(e.get('id') for e in root.iterfind('bpmn:error', NS))
                self.escalations.update(e.get('id') for e in root.iterfind('bpmn:escalation', NS))
                continue
            decisions = root.findall('{*}decision')
            # Spiff indexes a DMN file by its first decision only and refuses several.
            if len(decisions) != 1:
                raise _error(name, root, '每个 DMN 文件须恰好包含一个决策',
                             'a DMN file must contain exactly one decision', len(decisions))
            if decisions[0].find('{*}decisionTable') is None:  # Spiff runs decision tables only
                raise _error(name, decisions[0], '决策必须是决策表', 'decision must be a decision table')
            did = decisions[0].get('id')
            if did in self.decisions:
                raise _error(name, decisions[0], '决策 id 重复', 'duplicate decision id',
                             f'{did} (also in {self.decisions[did]})')
            self.decisions[did] = name


def _check_bpmn(name: str, root, index: _Index) -> None:
    messages = {e.get('id') for e in root.iterfind('bpmn:message', NS)}
    signals = {e.get('id') for e in root.iterfind('bpmn:signal', NS)}

    scopes: dict = {}

    def siblings(el) -> dict:
        # Flow references resolve among the children of the enclosing process/subprocess.
        parent = el.getparent()
        if parent not in scopes:
            scopes[parent] = ({c.get('id'): c for c in parent if c.get('id')}
                              if parent is not None and _local(parent) in _CONTAINERS else {})
        return scopes[parent]

    def missing(el, zh, en, ref):
        return _error(name, el, zh, en, repr(ref))

    for el in root.iter(etree.Element):
        qname = etree.QName(el)
        local = qname.localname
        if (qname.namespace, local) in _BPMN_EXPRESSIONS:
            mode, zh, en = _BPMN_EXPRESSIONS[(qname.namespace, local)]
            _compile(name, el, el.text, mode, zh, en, required=local in _MUST_HAVE_TEXT)
            continue
        if qname.namespace != BPMN_NS:
            continue
        if local == 'sequenceFlow':
            for attr in ('sourceRef', 'targetRef'):
                if el.get(attr) not in siblings(el):
                    raise missing(el, '顺序流引用了不存在的元素', f'sequence flow {attr} not found', el.get(attr))
        elif local == 'boundaryEvent' and el.get('attachedToRef') not in siblings(el):
            raise missing(el, '边界事件附着的活动不存在', 'boundary event attachedToRef not found',
                          el.get('attachedToRef'))
        elif local == 'callActivity' and el.get('calledElement') not in index.processes:
            raise missing(el, '调用活动引用的流程不存在', 'call activity calledElement is not a process in the bundle',
                          el.get('calledElement'))
        elif local == 'businessRuleTask':
            ref = el.findtext('bpmn:extensionElements/spiffworkflow:calledDecisionId', namespaces=NS)
            ref = ref.strip() if ref else ref
            if ref not in index.decisions:
                node = el.find('bpmn:extensionElements/spiffworkflow:calledDecisionId', NS)
                raise _error(name, el, '业务规则任务引用的决策不存在', 'decision not found in any DMN file',
                             repr(ref), line=node.sourceline if node is not None else None)
        default = el.get('default')
        if default is not None:
            flow = siblings(el).get(default)
            if flow is None or _local(flow) != 'sequenceFlow' or flow.get('sourceRef') != el.get('id'):
                raise missing(el, '默认顺序流不存在或不从本元素出发',
                              'default flow is not an outgoing sequence flow of this element', default)
        for attr, known, zh in (('messageRef', messages, '消息'), ('signalRef', signals, '信号'),
                                ('errorRef', index.errors, '错误'), ('escalationRef', index.escalations, '升级')):
            ref = el.get(attr)
            if ref is not None and ref not in known:
                raise missing(el, f'引用的{zh}不存在', f'{attr} not found', ref)


def _check_dmn(name: str, root, index: _Index) -> None:
    for table in root.iter('{*}decisionTable'):
        policy = (table.get('hitPolicy') or 'UNIQUE').upper()
        if policy not in _HIT_POLICIES or table.get('aggregation'):
            raise _error(name, table, '不支持的命中策略', 'unsupported hit policy (UNIQUE or COLLECT only)',
                         table.get('aggregation') or policy)
    for text in root.iter('{*}text'):
        kind = _local(text.getparent())
        if kind in ('inputExpression', 'outputEntry'):
            label = '输入表达式' if kind == 'inputExpression' else '输出条目'
            _compile(name, text, text.text, 'eval', f'决策表{label}无法编译',
                     f'DMN {kind} does not compile')
        elif kind == 'inputEntry':
            _compile_input_entry(name, text)


def _compile_input_entry(name: str, el) -> None:
    """Mirror DMNEngine.evaluate: '?' placeholders, else `input == entry`, else `input entry`."""
    entry = (el.text or '').strip(' \t')
    if entry.strip() in ('', '-'):
        return
    if _DMN_QMARK.search(entry):
        candidates = [_DMN_QMARK.sub('dmninputexpr', entry)]
    else:
        candidates = [entry, f'dmninputexpr {entry}']
    for source in candidates:
        try:
            compile(source, name, 'eval', dont_inherit=True)
            return
        except (SyntaxError, ValueError):
            pass
    # Report the compiler's complaint about the entry as written (it cannot compile).
    _compile(name, el, entry, 'eval', '决策表输入条目无法编译', 'DMN inputEntry does not compile')


def _compile(name, el, text, mode, zh, en, required=False) -> None:
    if text is None or not text.strip():
        if required:
            raise _error(name, el, zh.replace('无法编译', '为空'), en.replace('does not compile', 'is empty'))
        return
    # builtin eval() strips leading/trailing spaces and tabs of a string before
    # compiling (exec does not); do the same so we accept exactly what runs.
    source = text.strip(' \t') if mode == 'eval' else text
    try:
        compile(source, name, mode, dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        # sourceline is where the start tag ends, i.e. where the text begins.
        offset = (getattr(exc, 'lineno', None) or 1) - 1
        detail = f'{getattr(exc, "msg", exc)}: {(getattr(exc, "text", None) or source).strip()[:120]!r}'
        raise _error(name, el, zh, en, detail, line=(el.sourceline or 1) + offset) from exc


def _from_spiff(exc: ValidationException, docs) -> DefinitionError:
    """Spiff names the element but never a usable line; look it up ourselves."""
    file, element_id = exc.file_name or None, getattr(exc, 'id', '') or None
    line = None
    if element_id:
        for name, (_, root) in docs.items():
            if file and name != file:
                continue
            hit = root.find(f'.//*[@id="{element_id}"]')
            if hit is not None:
                file, line = name, hit.sourceline
                break
    if line is None and isinstance(getattr(exc, 'line_number', None), int):
        line = exc.line_number
    detail = exc.args[0] if exc.args else str(exc)  # str() appends Spiff's notes and stray dots
    return DefinitionError(_msg('流程定义无效', 'invalid definition', detail), file, line, element_id)


def _source_files(pid: str, subprocess_specs: dict, index: _Index) -> set[str]:
    """The BPMN files of the process and of every called process, plus the DMN
    files of the decisions their business rule tasks use."""
    used = set()
    for key in (pid, *subprocess_specs):
        if key in index.processes:  # embedded subprocesses live inside their parent
            name, el = index.processes[key]
            used.add(name)
            for ref in el.iterfind('.//bpmn:businessRuleTask/bpmn:extensionElements/spiffworkflow:calledDecisionId', NS):
                used.add(index.decisions[ref.text.strip()])
    return used


# ---------------------------------------------------------------- serialization

def spec_to_dict(spec: BpmnProcessSpec, subprocess_specs: dict) -> dict:
    """JSON-ready form of a deployed definition, with the same keys SpiffWorkflow
    uses inside a serialized workflow ('spec', 'subprocess_specs', 'serializer_version'),
    so the engine can store it once and splice it back next to instance state."""
    dct = {
        'serializer_version': SERIALIZER_VERSION,
        'spec': _REGISTRY.convert(spec),
        'subprocess_specs': {k: _REGISTRY.convert(v) for k, v in sorted(subprocess_specs.items())},
    }
    # The converters hand back live lists/dicts of the spec (e.g. task inputs,
    # extensions); a JSON round trip detaches them and proves serializability.
    return json.loads(json.dumps(dct, ensure_ascii=False))


def spec_from_dict(dct: dict) -> tuple[BpmnProcessSpec, dict]:
    """Rebuild (spec, subprocess_specs) from `spec_to_dict` output without re-parsing."""
    # Restoring mutates nested dicts (adds 'wf_spec', pops keys); keep the caller's copy intact.
    dct = copy.deepcopy(dct)
    spec = _REGISTRY.restore(dct['spec'])
    return spec, {k: _REGISTRY.restore(v) for k, v in dct.get('subprocess_specs', {}).items()}


def content_hash(spec_dict: dict, diagram: list | None = None) -> str:
    """sha256 of canonical JSON (sorted keys, no whitespace, UTF-8) of the spec and, when the files
    have one, their diagram interchange (`_diagram`)."""
    body = spec_dict if not diagram else {'spec': spec_dict, 'diagram': diagram}
    canonical = json.dumps(body, sort_keys=True, separators=(',', ':'), ensure_ascii=False)
    return hashlib.sha256(canonical.encode('utf-8')).hexdigest()


_BPMNDI_NS = 'http://www.omg.org/spec/BPMN/20100524/DI'


def _diagram(docs, used) -> list:
    """The diagram interchange of the files a process uses, as data: every element under each
    `bpmndi:BPMNDiagram` with its attributes, in document order (whitespace and comments left out)."""
    found = []
    for name in sorted(used):
        root = docs[name][1]
        for diagram in root.iter(f'{{{_BPMNDI_NS}}}BPMNDiagram'):
            for el in diagram.iter():
                if isinstance(el.tag, str):
                    found.append([el.tag, sorted(el.attrib.items())])
    return found


def task_properties(task_spec) -> dict[str, str]:
    """The `<spiffworkflow:properties>` of a task as name -> value. SpiffBpmnParser
    stores them in `task_spec.extensions['properties']`; the serializer keeps
    `extensions`, so they survive spec_to_dict/spec_from_dict."""
    extensions = getattr(task_spec, 'extensions', None) or {}
    return dict(extensions.get('properties') or {})


# ---------------------------------------------------------------- decisions on their own

@dataclass
class Decision:
    """A DMN decision deployed on its own (versioned apart from any process), e.g. a rate table."""
    key: str                      # the dmn:decision id
    name: str
    file: str
    text: str = field(repr=False)
    content_hash: str = ''


def parse_decisions(files: Mapping[str, bytes]) -> dict[str, Decision]:
    """Validate the `*.dmn` files of a bundle (same checks as `parse_files`) and return each decision.

    The hash covers the file's text without comments, so re-deploying an unchanged table is a no-op."""
    docs: dict[str, tuple[str, etree._Element]] = {}
    for name in sorted(files):
        if Path(name).suffix.lower() == '.dmn':
            docs[name] = ('.dmn', _parse_xml(name, files[name]))
    for name, (kind, root) in docs.items():
        _check_schema(name, kind, root)
    index = _Index(docs)
    result = {}
    for name, (kind, root) in docs.items():
        _check_dmn(name, root, index)
        decision = root.find('{*}decision')
        canonical = etree.tostring(root, method='c14n')
        result[decision.get('id')] = Decision(
            key=decision.get('id'), name=decision.get('name') or decision.get('id'), file=name,
            text=_decode(files[name], root), content_hash=hashlib.sha256(canonical).hexdigest())
    return result


class _DecisionTask:
    """What SpiffWorkflow's DMNEngine reads of a task: its data and its workflow's script engine."""

    def __init__(self, data: dict, script_engine):
        self.data = data
        self.workflow = self
        self.script_engine = script_engine


class CompiledDecision:
    """A decision table ready to evaluate outside any workflow (inputs in, first matching rule's outputs out)."""

    def __init__(self, decision: Decision):
        from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
        from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser
        parser = BpmnDmnParser()
        parser.add_dmn_xml(_parse_xml(decision.file, decision.text), filename=decision.file)
        self.engine = parser.get_engine(decision.key, None)
        self.key = decision.key
        self._script_engine = PythonScriptEngine(environment=TaskDataEnvironment({'__builtins__': {}}))

    def evaluate(self, inputs: Mapping) -> dict:
        """The outputs of the matching rule ({} when none matches)."""
        try:
            return dict(self.engine.result(_DecisionTask(dict(inputs), self._script_engine)))
        except Exception as exc:  # a broken table is a deployment defect: say which decision
            raise DefinitionError(_msg('决策表求值失败', 'decision table failed', f'{self.key}: {exc}')) from exc
