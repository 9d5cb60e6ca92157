import { CYCLE_LINK_RELATIONS, CYCLE_SCALES, DIRECTIONS } from '@app/domain';
import { FieldMap, optionalText, Posted, text } from '../shared/forms';
import { PageAction } from './page-actions';

/** Choices a question takes from the cycle at hand rather than from a fixed list. */
export type CycleChoices = 'experiments' | 'cycles';

/**
 * One question on a learning cycle's form, as the template shows it. `lines` is a list the service takes as an
 * array: one entry a line.
 */
export interface Question {
  kind: 'text' | 'textarea' | 'lines' | 'radios' | 'select';
  /** The form field's name; also the request's field unless `field` says otherwise. */
  name: string;
  id: string;
  label: string;
  hint?: string;
  field?: string;
  items?: { value: string; text: string }[];
  choices?: CycleChoices;
}

/** A stage of a learning cycle as a page: its questions, and the request to the partner's `POST /learning-cycles/{id}/{path}`. */
export interface CycleStageForm extends PageAction {
  title: string;
  intro: string;
  questions: Question[];
  button: string;
}

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1).replaceAll('-', ' ');
const choicesOf = (values: readonly string[]) => values.map((v) => ({ value: v, text: capital(v) }));

const LINES_HINT = 'One a line';
const lines = (b: Posted, name: string) =>
  text(b, name)
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);

/** The form's fields as the service's problems name them (the request's field -> the input). */
function fieldsOf(questions: Question[]): FieldMap {
  return Object.fromEntries(questions.map((q) => [q.field ?? q.name, { id: q.id, label: q.label }]));
}

/** The request: text questions omitted when empty (the service names what it needs), lists split into lines. */
function requestOf(questions: Question[]) {
  return (b: Posted) =>
    Object.fromEntries(
      questions.map((q) => [
        q.field ?? q.name,
        q.kind === 'lines' ? lines(b, q.name) : optionalText(b, q.name),
      ]),
    );
}

function stage(
  path: string,
  form: Omit<CycleStageForm, 'path' | 'fields' | 'request'> & { request?: PageAction['request'] },
): CycleStageForm {
  return { path, fields: fieldsOf(form.questions), request: requestOf(form.questions), ...form };
}

const experiment = (hint: string): Question => ({
  kind: 'radios',
  name: 'experimentId',
  id: 'experiment',
  label: 'Which experiment',
  hint,
  choices: 'experiments',
});

const findings: Question[] = [
  { kind: 'lines', name: 'patternsSeen', id: 'patterns-seen', label: 'Patterns seen', hint: LINES_HINT },
  {
    kind: 'textarea',
    name: 'learningForThisScale',
    id: 'learning-here',
    label: 'What was learnt for this scale',
  },
  {
    kind: 'lines',
    name: 'learningForOtherSystems',
    id: 'learning-elsewhere',
    label: 'What was learnt for other systems, across and above',
    hint: LINES_HINT,
  },
];

const INFLUENCE_ROWS = [1, 2, 3];
const influenceQuestions: Question[] = INFLUENCE_ROWS.flatMap((n) => [
  {
    kind: 'text' as const,
    name: `whose${n}`,
    field: `changes.${n - 1}.whose`,
    id: `whose-${n}`,
    label: `Change ${n}: whose business as usual`,
    hint: n === 1 ? 'An organisation, service, body or system' : undefined,
  },
  {
    kind: 'radios' as const,
    name: `direction${n}`,
    field: `changes.${n - 1}.direction`,
    id: `direction-${n}`,
    label: `Change ${n}: direction`,
    items: choicesOf(DIRECTIONS),
  },
  {
    kind: 'textarea' as const,
    name: `change${n}`,
    field: `changes.${n - 1}.change`,
    id: `change-${n}`,
    label: `Change ${n}: what must change`,
  },
]);

/**
 * The stages of a learning cycle in the seed's words, one page each, posted to the partner's
 * `POST /learning-cycles/{id}/{stage}`. The service decides what may be recorded when (every stage after the
 * purpose waits for it); the pages only ask the stage's questions.
 */
export const CYCLE_STAGE_FORMS: Record<string, CycleStageForm> = {
  purpose: stage('purpose', {
    title: 'Set the purpose',
    intro: 'A learning cycle starts with purpose: what it is for, in the words of those it is for.',
    questions: [{ kind: 'textarea', name: 'purpose', id: 'purpose', label: 'Purpose' }],
    button: 'Set the purpose',
    done: 'The purpose is set.',
  }),
  'system-understanding': stage('system-understanding', {
    title: 'Understand the system',
    intro: 'Who and what makes up the system that creates the outcome, and how they learn together.',
    questions: [
      { kind: 'lines', name: 'actors', id: 'actors', label: 'Actors', hint: LINES_HINT },
      { kind: 'lines', name: 'relationships', id: 'relationships', label: 'Relationships', hint: LINES_HINT },
      { kind: 'lines', name: 'factors', id: 'factors', label: 'Factors that influence it', hint: LINES_HINT },
      {
        kind: 'textarea',
        name: 'learningTogether',
        id: 'learning-together',
        label: 'How they learn together',
      },
    ],
    button: 'Record the understanding',
    done: 'The understanding of the system is recorded.',
  }),
  experiments: stage('experiments', {
    title: 'Co-design an experiment',
    intro: 'What happens if we try this? An experiment is safe to fail.',
    questions: [
      { kind: 'textarea', name: 'question', id: 'question', label: 'The question it tries to answer' },
      { kind: 'lines', name: 'actions', id: 'actions', label: 'Actions to try', hint: LINES_HINT },
      {
        kind: 'lines',
        name: 'dataToCollect',
        id: 'data-to-collect',
        label: 'Data to collect',
        hint: LINES_HINT,
      },
      {
        kind: 'textarea',
        name: 'sensemaking',
        id: 'sensemaking',
        label: 'How the data will be made sense of',
      },
      { kind: 'textarea', name: 'safeToFail', id: 'safe-to-fail', label: 'How it is safe to fail' },
      {
        kind: 'lines',
        name: 'countermeasures',
        id: 'countermeasures',
        label: 'Countermeasures that protect it',
        hint: LINES_HINT,
      },
    ],
    button: 'Record the experiment',
    done: 'The experiment is designed.',
  }),
  'experiment-start': stage('experiment-start', {
    title: 'Start an experiment',
    intro: 'An experiment starts once it is designed; learning is recorded while it runs.',
    questions: [experiment('One that is designed and not yet started')],
    button: 'Start the experiment',
    done: 'The experiment is started.',
  }),
  'experiment-learning': stage('experiment-learning', {
    title: 'Record what an experiment is teaching',
    intro: 'What is being learnt while the experiment runs.',
    questions: [experiment('One that is running'), ...findings],
    button: 'Record the learning',
    done: 'The learning is recorded.',
  }),
  'experiment-conclusion': stage('experiment-conclusion', {
    title: 'Conclude an experiment',
    intro: 'What the experiment taught, for this scale and for others.',
    questions: [experiment('One that is running'), ...findings],
    button: 'Conclude the experiment',
    done: 'The experiment is concluded.',
  }),
  embedding: stage('embedding', {
    title: 'Embed the learning',
    intro: 'How our own business as usual changes.',
    questions: [
      {
        kind: 'lines',
        name: 'bauChanges',
        id: 'bau-changes',
        label: 'Changes to business as usual',
        hint: LINES_HINT,
      },
    ],
    button: 'Record the embedding',
    done: 'The embedding is recorded.',
  }),
  influencing: stage('influencing', {
    title: 'Influence others',
    intro:
      'How the business as usual of others must change, across (horizontally) or above and below (vertically).',
    questions: influenceQuestions,
    button: 'Record the influencing',
    done: 'The influencing is recorded.',
    // Each row with anything in it is one change; empty rows are left out.
    request: (b) => ({
      changes: INFLUENCE_ROWS.filter((n) =>
        ['whose', 'direction', 'change'].some((k) => text(b, `${k}${n}`)),
      ).map((n) => ({
        whose: optionalText(b, `whose${n}`),
        direction: optionalText(b, `direction${n}`),
        change: optionalText(b, `change${n}`),
      })),
    }),
  }),
  management: stage('management', {
    title: 'Manage the cycle',
    intro: 'Is the cycle operating effectively, and what does it need?',
    questions: [
      {
        kind: 'textarea',
        name: 'operatingEffectively',
        id: 'operating-effectively',
        label: 'Is it operating effectively',
      },
      {
        kind: 'textarea',
        name: 'whatNeedsToChange',
        id: 'what-needs-to-change',
        label: 'What needs to change',
      },
      { kind: 'text', name: 'timeToAllocate', id: 'time-to-allocate', label: 'Time to allocate' },
      { kind: 'lines', name: 'resources', id: 'resources', label: 'Resources', hint: LINES_HINT },
      { kind: 'lines', name: 'enablers', id: 'enablers', label: 'Enablers', hint: LINES_HINT },
      { kind: 'lines', name: 'barriers', id: 'barriers', label: 'Barriers', hint: LINES_HINT },
      {
        kind: 'lines',
        name: 'connectWith',
        id: 'connect-with',
        label: 'Whom to connect with',
        hint: LINES_HINT,
      },
    ],
    button: 'Record the management',
    done: 'The management of the cycle is recorded.',
  }),
  governance: stage('governance', {
    title: 'Govern the cycle',
    intro: 'The integrity of the learning and adaptation.',
    questions: [
      {
        kind: 'textarea',
        name: 'areLessonsBeingLearnt',
        id: 'lessons-learnt',
        label: 'Are lessons being learnt',
      },
      {
        kind: 'textarea',
        name: 'howLearningChangesPractice',
        id: 'changes-practice',
        label: 'How the learning changes practice',
      },
      {
        kind: 'textarea',
        name: 'howPracticeBecomesInfrastructure',
        id: 'becomes-infrastructure',
        label: 'How practice becomes infrastructure',
      },
      {
        kind: 'textarea',
        name: 'howLearningAchievesPurpose',
        id: 'achieves-purpose',
        label: 'How the learning achieves the purpose',
      },
      { kind: 'textarea', name: 'howWeKnow', id: 'how-we-know', label: 'How we know' },
      {
        kind: 'lines',
        name: 'evaluationMechanisms',
        id: 'evaluation',
        label: 'Evaluation mechanisms',
        hint: LINES_HINT,
      },
      {
        kind: 'lines',
        name: 'accountTo',
        id: 'account-to',
        label: 'To whom we give an account',
        hint: LINES_HINT,
      },
      { kind: 'lines', name: 'whoIsIncluded', id: 'included', label: 'Who is included', hint: LINES_HINT },
      { kind: 'lines', name: 'whoIsExcluded', id: 'excluded', label: 'Who is excluded', hint: LINES_HINT },
      { kind: 'textarea', name: 'areBoundariesRight', id: 'boundaries', label: 'Are those boundaries right' },
    ],
    button: 'Record the governance',
    done: 'The governance of the cycle is recorded.',
  }),
  links: stage('links', {
    title: 'Link to another cycle',
    intro: 'Cycles form a connected stack across the scales: say how this one stands to another.',
    questions: [
      {
        kind: 'radios',
        name: 'relation',
        id: 'relation',
        label: 'This cycle',
        items: choicesOf(CYCLE_LINK_RELATIONS),
      },
      { kind: 'select', name: 'to', id: 'to-cycle', label: 'The other cycle', choices: 'cycles' },
    ],
    button: 'Link the cycles',
    done: 'The cycles are linked.',
  }),
  closure: stage('closure', {
    title: 'Close the cycle',
    intro: 'Nothing more can be recorded on a closed cycle. Conclude its running experiments first.',
    questions: [{ kind: 'textarea', name: 'why', id: 'why', label: 'Why it closes' }],
    button: 'Close the cycle',
    done: 'The cycle is closed.',
  }),
};

/** Convening a new cycle: `POST /learning-cycles`. */
export const CONVENE: CycleStageForm = stage('', {
  title: 'Convene a learning cycle',
  intro: 'A learning cycle at any scale; one across the place is convened by a steward.',
  questions: [
    { kind: 'text', name: 'title', id: 'title', label: 'Title' },
    { kind: 'radios', name: 'scale', id: 'scale', label: 'Scale', items: choicesOf(CYCLE_SCALES) },
    { kind: 'text', name: 'team', id: 'team', label: 'Team', hint: 'For a team’s cycle: which team' },
    { kind: 'textarea', name: 'purpose', id: 'purpose', label: 'Purpose', hint: 'You may set it later' },
  ],
  button: 'Convene the cycle',
  done: 'The learning cycle is convened.',
});
// The service names a team cycle's missing team as the owner's.
CONVENE.fields['owner.team'] = CONVENE.fields.team;
