"""Loading and validating BPMN/DMN bundles (engine.definitions)."""

import json
import re
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.util.task import TaskState

from engine.definitions import (
    DefinitionError,
    ProcessDefinition,
    content_hash,
    load_directory,
    parse_files,
    spec_from_dict,
    spec_to_dict,
    task_properties,
)

FIXTURES = Path(__file__).resolve().parent.parent / 'fixtures' / 'definitions'
VALID_BPMN = (FIXTURES / 'valid.bpmn').read_bytes()
VALID_DMN = (FIXTURES / 'valid.dmn').read_bytes()
CJK = r'[\u4e00-\u9fff]'


def valid_bundle(bpmn=VALID_BPMN, dmn=VALID_DMN):
    return {'valid.bpmn': bpmn, 'valid.dmn': dmn}


def parse_error(files) -> DefinitionError:
    with pytest.raises(DefinitionError) as info:
        parse_files(files)
    return info.value


def run_to_user_task(definition: ProcessDefinition, **data):
    spec, subprocess_specs = spec_from_dict(definition.spec_dict)
    due_in_days = lambda n: (datetime.now(timezone.utc) + timedelta(days=n)).isoformat()
    engine = PythonScriptEngine(environment=TaskDataEnvironment({'due_in_days': due_in_days}))
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=engine)
    workflow.task_tree.set_data(**data)
    workflow.do_engine_steps()
    return workflow, workflow.get_next_task(state=TaskState.READY, manual=True)


# ------------------------------------------------------------ broken files

@pytest.mark.parametrize('fixture, line, element_id, words', [
    ('bad_xml.bpmn', 8, None, 'malformed XML'),
    ('xsd_violation.bpmn', 5, 'Task_review', "attribute 'priority'"),
    ('missing_flow_target.bpmn', 6, 'Flow_1', 'End_missing'),
    ('missing_default_flow.bpmn', 5, 'Gateway_1', 'Flow_missing'),
    ('missing_attached_to.bpmn', 7, 'Timer_1', 'Task_missing'),
    ('missing_decision.bpmn', 7, 'Task_assess', 'no_such_decision'),
    ('bad_timer.bpmn', 7, 'Timer_wait', 'timer expression does not compile'),
    ('bad_condition.bpmn', 10, 'Flow_yes', 'condition expression does not compile'),
    ('bad_script.bpmn', 7, 'Task_compute', "expected ':'"),  # second line of the script
    ('no_executable.bpmn', 3, 'no_executable', 'no executable process'),
])
def test_broken_file_is_located(fixture, line, element_id, words):
    # valid.dmn rides along so a missing decision is missing despite a DMN being present.
    err = parse_error({fixture: (FIXTURES / fixture).read_bytes(), 'valid.dmn': VALID_DMN})
    assert (err.file, err.line, err.element_id) == (fixture, line, element_id)
    assert words in err.message
    zh, en = err.message.split(' / ', 1)
    assert re.search(CJK, zh) and not re.search(CJK, en.split(':')[0])
    assert str(err).startswith(f'{fixture}:{line}' + (f' [{element_id}]: ' if element_id else ': '))


def test_one_broken_file_spoils_the_bundle():
    files = valid_bundle() | {'bad_condition.bpmn': (FIXTURES / 'bad_condition.bpmn').read_bytes()}
    assert parse_error(files).file == 'bad_condition.bpmn'


def test_empty_bundle_and_unrelated_files():
    assert parse_error({}).file is None
    err = parse_error({'README.md': b'# hi', 'form.json': b'{}'})
    assert 'no BPMN or DMN file' in str(err)
    assert 'no executable process' in parse_error({'valid.dmn': VALID_DMN}).message


def _edit(old: bytes, new: bytes, src=VALID_BPMN) -> bytes:
    assert src.count(old) == 1, old
    return src.replace(old, new)


def _line_of(src: bytes, needle: bytes) -> int:
    return src[:src.index(needle)].count(b'\n') + 1


@pytest.mark.parametrize('old, new, element_id', [
    (b'sourceRef="Timer_overdue"', b'sourceRef="Timer_gone"', 'Flow_overdue'),
    (b'<bpmn:timerEventDefinition id="TimerEventDefinition_overdue">',
     b'<bpmn:messageEventDefinition messageRef="Message_gone" />'
     b'<bpmn:timerEventDefinition id="TimerEventDefinition_overdue">', 'Timer_overdue'),
])
def test_other_unknown_references(old, new, element_id):
    src = _edit(old, new)
    err = parse_error(valid_bundle(src))
    assert (err.file, err.line, err.element_id) == ('valid.bpmn', _line_of(src, new), element_id)


def test_call_activity_to_unknown_process():
    caller = _edit(b'<bpmn:userTask id="Task_review" name="\xe5\xae\xa1\xe6\xa0\xb8">',
                   b'<bpmn:callActivity id="Task_review" calledElement="nowhere">')
    caller = caller.replace(b'</bpmn:userTask>', b'</bpmn:callActivity>')
    err = parse_error(valid_bundle(caller))
    assert (err.element_id, err.line) == ('Task_review', _line_of(caller, b'calledElement="nowhere"'))
    assert "'nowhere'" in err.message


@pytest.mark.parametrize('old, new, element_id', [
    (b'<text>&gt; 10000</text>', b'<text>&gt; &gt; 10000</text>', 'InputEntry_high'),
    (b'<text>"normal"</text>', b'<text>"normal</text>', 'OutputEntry_normal'),
    (b'<text>amount</text>', b'<text>amount +</text>', 'Input_amount'),
    (b'hitPolicy="UNIQUE"', b'hitPolicy="ANY"', 'DecisionTable_priority'),
])
def test_dmn_problems(old, new, element_id):
    dmn = _edit(old, new, VALID_DMN)
    err = parse_error(valid_bundle(dmn=dmn))
    assert (err.file, err.line, err.element_id) == ('valid.dmn', _line_of(dmn, new), element_id)


def test_dmn_input_entry_forms_that_compile():
    for entry in (b'"a", "b"', b'-', b'', b'5 &lt; ? &lt; 20000', b'== 3', b'in (1, 2)'):
        dmn = _edit(b'<text>&gt; 10000</text>', b'<text>' + entry + b'</text>', VALID_DMN)
        assert parse_files(valid_bundle(dmn=dmn))


def test_spiffworkflow_errors_are_located():
    # Spiff itself rejects a task with two outgoing flows; we add the line it cannot give.
    src = _edit(b'<bpmn:sequenceFlow id="Flow_start" ',
                b'<bpmn:sequenceFlow id="Flow_extra" sourceRef="Task_assess" targetRef="End_done" />\n'
                b'    <bpmn:sequenceFlow id="Flow_start" ')
    err = parse_error(valid_bundle(src))
    assert (err.file, err.element_id) == ('valid.bpmn', 'Task_assess')
    assert err.line == _line_of(src, b'<bpmn:businessRuleTask id="Task_assess"')
    assert 'Multiple outgoing flows' in err.message


# ------------------------------------------------------------ valid bundle

def test_valid_bundle():
    definitions = parse_files(valid_bundle() | {'notes.txt': b'ignored'})
    assert list(definitions) == ['valid_process']
    d = definitions['valid_process']
    assert (d.key, d.name, d.subprocess_specs) == ('valid_process', '测试流程', {})
    assert sorted(d.files) == ['valid.bpmn', 'valid.dmn']
    assert d.files['valid.bpmn'] == VALID_BPMN.decode('utf-8')
    assert re.fullmatch(r'[0-9a-f]{64}', d.content_hash)
    assert json.loads(json.dumps(d.spec_dict)) == d.spec_dict
    review = d.spec.task_specs['Task_review']
    assert (review.lane, task_properties(review)) == ('mediator', {'step': 'review'})
    assert task_properties(d.spec.task_specs['StartEvent_1']) == {}


def test_hash_is_stable_across_parses_whitespace_and_comments():
    first = parse_files(valid_bundle())['valid_process'].content_hash
    assert parse_files(valid_bundle())['valid_process'].content_hash == first

    def reformat(src: bytes) -> bytes:  # re-indent, comment every line, CRLF line ends
        src = re.sub(rb'\n[ \t]*', b'\n\t  ', src)
        return src.replace(b'>\n', b'><!-- \xe6\xb3\xa8\xe9\x87\x8a -->\n').replace(b'\n', b'\r\n')

    assert parse_files(valid_bundle(reformat(VALID_BPMN), reformat(VALID_DMN)))['valid_process'].content_hash == first
    changed = _edit(b'priority == "high"', b'priority == "urgent"')
    assert parse_files(valid_bundle(changed))['valid_process'].content_hash != first


def test_load_directory_reads_only_top_level_bpmn_and_dmn(tmp_path):
    for name in ('valid.bpmn', 'valid.dmn'):
        shutil.copy(FIXTURES / name, tmp_path / name)
    (tmp_path / 'forms').mkdir()
    (tmp_path / 'forms' / 'broken.bpmn').write_text('<not xml')
    (tmp_path / 'README.md').write_text('# bundle')
    definitions = load_directory(tmp_path)
    assert definitions['valid_process'].content_hash == parse_files(valid_bundle())['valid_process'].content_hash


def test_round_trip_runs_to_the_end():
    d = parse_files(valid_bundle())['valid_process']
    before = json.dumps(d.spec_dict, sort_keys=True)
    spec, subprocess_specs = spec_from_dict(d.spec_dict)
    assert json.dumps(d.spec_dict, sort_keys=True) == before  # restoring must not touch the stored dict
    assert content_hash(spec_to_dict(spec, subprocess_specs)) == content_hash(d.spec_dict)
    assert task_properties(spec.task_specs['Task_review']) == {'step': 'review'}

    workflow, task = run_to_user_task(d, amount=20000)
    assert task.task_spec.name == 'Task_review' and task.task_spec.lane == 'mediator'
    assert task_properties(task.task_spec) == {'step': 'review'}
    assert task.data['priority'] == 'high'  # set by the DMN decision
    assert [e.event_type for e in workflow.waiting_events()] == ['TimeDateEventDefinition']
    task.run()
    workflow.do_engine_steps()
    assert workflow.is_completed()
    done = {t.task_spec.name for t in workflow.get_tasks(state=TaskState.COMPLETED)}
    assert 'End_escalated' in done and 'End_overdue' not in done


def test_call_activity_brings_its_subprocess_and_files():
    caller = b'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Definitions_caller" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="caller" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:callActivity id="Call_valid" calledElement="valid_process" />
    <bpmn:endEvent id="End_1" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Call_valid" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Call_valid" targetRef="End_1" />
  </bpmn:process>
</bpmn:definitions>'''
    definitions = parse_files(valid_bundle() | {'caller.bpmn': caller})
    d = definitions['caller']
    assert sorted(definitions) == ['caller', 'valid_process']
    assert list(d.subprocess_specs) == ['valid_process']
    assert sorted(d.files) == ['caller.bpmn', 'valid.bpmn', 'valid.dmn']
    workflow, task = run_to_user_task(d, amount=5)
    assert task_properties(task.task_spec) == {'step': 'review'}
    task.run()
    workflow.do_engine_steps()
    assert workflow.is_completed()


def test_a_new_layout_of_the_same_process_is_a_new_version_to_draw_its_cases_on():
    first = parse_files(valid_bundle())['valid_process'].content_hash
    moved = re.sub(rb'x="(\d+)"', lambda m: b'x="%d"' % (int(m.group(1)) + 10), VALID_BPMN, count=1)
    assert moved != VALID_BPMN
    assert parse_files(valid_bundle(moved))['valid_process'].content_hash != first
